State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      4096               *:22              *:*    users:(("systemd",pid=1,fd=26))
