State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      5                  *:22              *:*    users:(("python3",pid=190,fd=3))
