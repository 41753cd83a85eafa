package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maxSocketPath is what fits in sockaddr_un's sun_path (104 bytes here),
// with its NUL.
const maxSocketPath = 103

// shortSocketAddr: darwin has no /proc to reach a directory through, so
// a socket path longer than an address holds is refused, saying so.
func shortSocketAddr(path string) (string, func(), error) {
	return "", nil, fmt.Errorf("socket path %s is too long (%d bytes; at most %d): use a shorter --state-dir", path, len(path), maxSocketPath)
}

// peerUID is the uid of the process at the other end of the Unix socket
// fd, as the kernel reports it.
func peerUID(fd int) (uint32, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Uid, nil
}
