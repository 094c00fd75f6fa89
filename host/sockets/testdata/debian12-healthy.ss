State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess                      
LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=50,fd=3))
LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=50,fd=4))
