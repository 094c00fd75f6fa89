State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess                          
LISTEN 0      5            0.0.0.0:22        0.0.0.0:*    users:(("python3",pid=170,fd=3))
LISTEN 0      128             [::]:22           [::]:*    users:(("sshd",pid=175,fd=3))   
