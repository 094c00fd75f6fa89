// Package lab builds real hosts on the test machine for sshdoctor's tests:
// network namespaces joined by veth wires, a real OpenSSH sshd, real
// iptables and nftables rules, fake servers written in Go, and Debian
// systems booted with systemd-nspawn. sshdoctor diagnoses real failures, so
// its tests provoke real ones instead of mocking them.
//
// The package is Linux-only (every file but this one is built only on
// Linux) and needs root and the packages listed in shared/LAB.md. Every
// test gates itself with Require, which skips when those are missing, or
// fails when CI=true, since CI provides them.
//
// # Safety
//
// Nothing the lab does touches the test machine's own network: every
// address, route, rule and daemon lives in a namespace the test made, and
// the wires are created directly inside those namespaces. Names are
// Prefix + test binary PID + counter + role ("sdl-1234-3-srv"), so parallel
// test binaries never clash. Everything is undone by t.Cleanup, also when a
// test fails half-way: processes are stopped (SIGTERM, then SIGKILL),
// anything still inside a namespace is killed, namespaces, files and
// cgroups are removed. Processes the lab starts die with the test binary
// (PR_SET_PDEATHSIG), and what a killed test binary still leaves behind (a
// container's systemd, for one) is removed by Sweep, which Require runs
// once per test binary.
//
// # Hosts
//
// NewPair gives a Client and a Server on one wire; NewRouted puts a Router
// between them, on two subnets, so that ICMP errors can come from a host
// that is not the server, and Routed.MTUBlackHole makes a path-MTU black
// hole. Host.Run and Host.Start run commands inside a host; Host.Listen,
// Host.Serve and Host.DialContext make sockets inside it from the test
// process itself, so a fake server is a few lines of Go:
//
//	p := lab.NewPair(t)
//	p.Server.Serve(t, 22, lab.Send([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")))
//	p.Server.IPTables(t, "-A", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "REJECT")
//	stdout, stderr, exit := p.Client.RunTool(t, nil, "check", "--json", p.Server.Addr4.String())
//
// # sshd
//
// Host.StartSSHD runs a real sshd from a configuration in a directory of
// its own under RunDir. The lab creates no users on the machine, so the
// login user is root with an authorized_keys file of the lab's own
// (PermitRootLogin prohibit-password, StrictModes on). RunDir is under /run
// because sshd's StrictModes refuses any group- or world-writable directory
// on the way to authorized_keys, and /tmp is world-writable. Note that
// Debian's sshd accepts a group-writable file when the group has no other
// member, so only world-writable modes are refused for root. NewUserKey
// writes key pairs; SSHD.Login and Login run the real ssh client.
//
// # Containers
//
// DebianTree builds (once, cached in DefaultCacheDir) a bookworm tree with
// systemd, openssh-server, nftables, iptables, ufw, firewalld, fail2ban and
// sshguard. Host.Boot boots it with systemd-nspawn in the host's namespace,
// with a throwaway overlay, and Container.Run runs commands inside. What
// makes nspawn work on a machine without systemd as PID 1 (this one): it
// must not register with or ask the host's systemd for anything
// (--register=no --keep-unit), it gets a network namespace the lab made
// (--network-namespace-path), it needs CAP_NET_ADMIN granted explicitly for
// firewall services to work inside, and it runs in a cgroup of its own
// because with --keep-unit it puts the container next to its own cgroup.
// Measured here: the tree takes about two minutes to build and 300 MB; a
// boot to an active ssh.service takes one to two seconds.
//
// # The tool under test
//
// Tool builds cmd/sshdoctor once per test binary; Host.RunTool runs it in
// a host with a clean environment. Use Main from TestMain so the binary is
// removed at the end:
//
//	func TestMain(m *testing.M) { os.Exit(lab.Main(m)) }
package lab
