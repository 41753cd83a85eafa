package main

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxSocketPath is what fits in sockaddr_un's sun_path (108 bytes here),
// with its NUL.
const maxSocketPath = 107

// shortSocketAddr reaches a socket whose path is too long for a socket
// address through a descriptor of its directory, /proc/self/fd/N/NAME.
// closeAddr releases the descriptor once bound or connected.
func shortSocketAddr(path string) (addr string, closeAddr func(), err error) {
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", filepath.Dir(path), err)
	}
	addr = fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(path))
	if len(addr) > maxSocketPath {
		_ = unix.Close(fd)
		return "", nil, fmt.Errorf("socket path %s is too long", path)
	}
	return addr, func() { _ = unix.Close(fd) }, nil
}

// peerUID is the uid of the process at the other end of the Unix socket
// fd, as the kernel reports it.
func peerUID(fd int) (uint32, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return cred.Uid, nil
}
