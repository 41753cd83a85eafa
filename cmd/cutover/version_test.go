package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: cutover version, cutover --version and cutover version -o
// json say the same version, Go and platform; another format is refused.
func TestVersion(t *testing.T) {
	code, text, _ := cli(t, "", nil, "version")
	if code != exitOK || !strings.HasPrefix(text, "cutover ") || !strings.HasSuffix(text, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
		t.Fatalf("cutover version: exit %d, %q", code, text)
	}
	if code, flag, _ := cli(t, "", nil, "--version"); code != exitOK || flag != text {
		t.Errorf("cutover --version: exit %d, %q; want %q", code, flag, text)
	}
	code, out, _ := cli(t, "", nil, "version", "-o", "json")
	var b struct{ Version, Go, Platform string }
	if err := json.Unmarshal([]byte(out), &b); code != exitOK || err != nil {
		t.Fatalf("cutover version -o json: exit %d, %v: %q", code, err, out)
	}
	if want := "cutover " + b.Version + " "; !strings.HasPrefix(text, want) || b.Go != runtime.Version() || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version -o json %+v does not match %q", b, text)
	}
	if code, _, errOut := cli(t, "", nil, "version", "-o", "yaml"); code == exitOK || !strings.Contains(errOut, "the only format is json") {
		t.Errorf("version -o yaml: exit %d, %q; want it refused", code, errOut)
	}
}
