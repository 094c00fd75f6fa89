State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      4096               *:22              *:*    users:(("sshd",pid=283,fd=3),("systemd",pid=1,fd=26))
