package main

import (
	"bytes"
	"fmt"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/cutover-sh/cutover/engine"
)

// role is what a key may do in cutover serve.
type role string

const (
	// roleViewer watches: every key that changes something is off.
	roleViewer role = "viewer"
	// roleOperator may approve, promote, roll back, abort and switch to
	// maintenance.
	roleOperator role = "operator"
)

// member is one line of the authorized-keys file.
type member struct {
	key     gossh.PublicKey
	comment string
	role    role
}

// actor is how the journal and every console name the member: the key's
// comment and its SHA256 fingerprint.
func (m member) actor(user string) engine.Actor {
	name := m.comment
	if name == "" {
		name = user
	}
	return engine.Actor{Name: name, ID: gossh.FingerprintSHA256(m.key)}
}

// loadMembers reads an authorized_keys file in OpenSSH's format, where
// each key may carry the option role=operator or role=viewer (the
// default, the least a key can do):
//
//	role=operator ssh-ed25519 AAAAC3... alice@laptop
//	ssh-ed25519 AAAAC3... bob@desk
//
// Any other option is refused rather than ignored: from="..." or
// command="..." would look enforced and not be; so is a second role=,
// which would leave a reader to guess which one counts. The file is
// refused as sshd's StrictModes refuses it (see strictModes).
func loadMembers(path string) ([]member, error) {
	data, err := readTrusted("authorized keys", path, false)
	if err != nil {
		return nil, err
	}
	var out []member
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		at := fmt.Sprintf("%s:%d", path, i+1)
		key, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s: not an authorized_keys line: %w", at, err)
		}
		m := member{key: key, comment: comment, role: roleViewer}
		roles := 0
		for _, o := range options {
			name, value, _ := strings.Cut(o, "=")
			if name != "role" {
				return nil, fmt.Errorf("%s: option %q: cutover serve knows only role=operator and role=viewer", at, o)
			}
			if roles++; roles > 1 {
				return nil, fmt.Errorf("%s: option %q: a second role; a key has one role=", at, o)
			}
			switch r := role(strings.Trim(value, `"`)); r {
			case roleViewer, roleOperator:
				m.role = r
			default:
				return nil, fmt.Errorf("%s: role %q: want operator or viewer", at, value)
			}
		}
		out = append(out, m)
	}
	return out, nil
}
