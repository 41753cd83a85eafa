package main

import (
	"strings"
	"testing"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFKQ5y3PYq6U8lc6sMDvyZQ1tYUoM8dCyFjvzE6b1mLK"

// TestLoadMembers: roles come from the role option, a key without one is
// a viewer, and a line cutover cannot honour is refused with its place.
func TestLoadMembers(t *testing.T) {
	ms, err := loadMembers(writeFile(t, "keys", "# the on-call rota\n\nrole=operator "+testKey+" alice@laptop\n"+testKey+" bob@desk\nrole=\"viewer\" "+testKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.comment+":"+string(m.role))
	}
	if strings.Join(got, " ") != "alice@laptop:operator bob@desk:viewer :viewer" {
		t.Errorf("members %v", got)
	}
	if a := ms[2].actor("carol"); a.Name != "carol" || !strings.HasPrefix(a.ID, "SHA256:") {
		t.Errorf("a key without a comment is named %+v; want the SSH user and the fingerprint", a)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"from= would look enforced", "from=\"10.0.0.0/8\" " + testKey, `keys:1: option "from=\"10.0.0.0/8\"": cutover serve knows only role=operator and role=viewer`},
		{"unknown role", "\nrole=admin " + testKey, `keys:2: role "admin": want operator or viewer`},
		{"not a key", "role=operator ssh-ed25519 nope", "keys:1: not an authorized_keys line"},
		{"two roles", "\n\nrole=viewer,role=operator " + testKey, `keys:3: option "role=operator": a second role; a key has one role=`},
		{"the same role twice", "role=viewer,role=viewer " + testKey, `keys:1: option "role=viewer": a second role`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadMembers(writeFile(t, "keys", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
