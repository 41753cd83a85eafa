package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostKeyIsMadeOnceAndKept: the first call makes the key (mode 0600,
// and its .pub), a second keeps it and prints the same fingerprint, and a
// directory others can write to gets no key, as cutover serve would refuse
// it.
func TestHostKeyIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	code, first, errOut := cli(t, "", nil, "host-key", key)
	if code != 0 || !strings.HasPrefix(first, "SHA256:") || !strings.Contains(first, key) {
		t.Fatalf("first call: exit %d, out %q, err %q; want the fingerprint and the path", code, first, errOut)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key: %v, %v; want mode 0600", fi, err)
	}
	if _, err := os.Stat(key + ".pub"); err != nil {
		t.Fatal(err)
	}
	if code, again, errOut := cli(t, "", nil, "host-key", key); code != 0 || again != first {
		t.Fatalf("second call: exit %d, out %q, err %q; want the same key, %q", code, again, errOut, first)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "", nil, "host-key", filepath.Join(open, "key"))
	if code == 0 || !strings.Contains(errOut, "writable by group or others") {
		t.Fatalf("in a world-writable directory: exit %d, err %q; want a refusal that says why", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(open, "key")); err == nil {
		t.Fatal("a key was made where cutover serve would refuse it")
	}
}
