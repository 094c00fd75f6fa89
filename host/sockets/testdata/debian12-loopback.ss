State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
LISTEN 0      128        127.0.0.1:22        0.0.0.0:*    users:(("sshd",pid=85,fd=3))
