package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	gossh "golang.org/x/crypto/ssh"
)

// fileFacts is what strictModes judges of a file or directory.
type fileFacts struct {
	path string
	mode fs.FileMode
	uid  uint32
}

func factsOf(path string, fi fs.FileInfo) fileFacts {
	f := fileFacts{path: path, mode: fi.Mode()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.uid = st.Uid
	}
	return f
}

// strictModes is sshd's StrictModes for a file cutover serve trusts (the
// authorized keys, and the host key, which is private as well): nobody
// but its owner may change what it says, so
//
//   - the file is a regular file, owned by root or by me (the user
//     cutover serve runs as), and not writable by group or others; a
//     private one not readable by them either;
//   - its directory is owned by root or by me, and not writable by group
//     or others: whoever can write there can put another file in its
//     place;
//   - so is every directory above it, up to /, except that one with the
//     sticky bit (such as /tmp) may be writable by others: they cannot
//     rename or remove what they do not own, and what is on the path is
//     checked to be root's or mine.
//
// sshd stops at the user's home directory; cutover serve has none to stop
// at. dirs run from the file's own directory up to /.
func strictModes(what string, file fileFacts, dirs []fileFacts, me uint32, private bool) error {
	owned := func(f fileFacts, which string) error {
		if f.uid == 0 || f.uid == me {
			return nil
		}
		return fmt.Errorf("%s %s: %sowned by uid %d, neither root nor the user cutover serve runs as (uid %d); run chown %d %s",
			what, file.path, which, f.uid, me, me, shellQuote(f.path))
	}
	if !file.mode.IsRegular() {
		return fmt.Errorf("%s %s: not a regular file (%s)", what, file.path, file.mode.Type())
	}
	if err := owned(file, ""); err != nil {
		return err
	}
	switch perm := file.mode.Perm(); {
	case perm&0o022 != 0:
		fix := "go-w"
		if private {
			fix = "go-rw"
		}
		return fmt.Errorf("%s %s: writable by group or others (mode %04o); run chmod %s %s", what, file.path, perm, fix, shellQuote(file.path))
	case private && perm&0o044 != 0:
		return fmt.Errorf("%s %s: readable by group or others (mode %04o), and it is a private key; run chmod go-rw %s", what, file.path, perm, shellQuote(file.path))
	}
	for i, d := range dirs {
		if err := owned(d, "directory "+d.path+" is "); err != nil {
			return err
		}
		if d.mode.Perm()&0o022 != 0 && (i == 0 || d.mode&fs.ModeSticky == 0) {
			return fmt.Errorf("%s %s: directory %s is writable by group or others (mode %04o); run chmod go-w %s",
				what, file.path, d.path, d.mode.Perm(), shellQuote(d.path))
		}
	}
	return nil
}

// readTrusted reads a file strictModes passes. The file is judged by the
// descriptor it is read from, so that it cannot be swapped in between.
func readTrusted(what, path string, private bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	dirs, err := parentFacts(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if err := strictModes(what, factsOf(path, fi), dirs, uint32(os.Geteuid()), private); err != nil { //nolint:gosec // a uid fits in 32 bits
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return data, nil
}

// parentFacts are the directories a path's file is in, from its own up to
// /, with symbolic links resolved, as sshd's realpath does.
func parentFacts(path string) ([]fileFacts, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	return dirFacts(filepath.Dir(real))
}

// dirFacts are dir and every directory above it, up to /.
func dirFacts(dir string) ([]fileFacts, error) {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	var dirs []fileFacts
	for ; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, factsOf(dir, fi))
		if filepath.Dir(dir) == dir {
			return dirs, nil
		}
	}
}

// hostKey reads the server's private host key, generating it first
// (ed25519, mode 0600) if it is missing. A key that strictModes refuses is
// refused, and none is generated into a directory it would refuse.
func hostKey(path string) (gossh.Signer, error) {
	const what = "host key"
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		dirs, err := dirFacts(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, path, err)
		}
		me := uint32(os.Geteuid()) //nolint:gosec // a uid fits in 32 bits
		if err := strictModes(what, fileFacts{path: path, mode: 0o600, uid: me}, dirs, me, true); err != nil {
			return nil, err
		}
		if err := generateHostKey(path); err != nil {
			return nil, fmt.Errorf("%s %s: generate: %w", what, path, err)
		}
	}
	data, err := readTrusted(what, path, true)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return signer, nil
}

// generateHostKey writes a new ed25519 key to path, which must not exist,
// and its public half to path.pub.
func generateHostKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := gossh.MarshalPrivateKey(priv, "cutover serve host key")
	if err != nil {
		return err
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, block); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(sshPub), 0o600)
}

// shellQuote quotes a path for a command the operator is told to run.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
