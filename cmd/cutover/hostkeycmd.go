package main

import (
	"fmt"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

// newHostKeyCmd makes cutover serve's host key ahead of time: a package's
// install script makes it in /etc/cutover, where the service, sandboxed,
// cannot write.
func newHostKeyCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "host-key FILE",
		Short: "Generate cutover serve's SSH host key if it is missing, and print its fingerprint",
		Long: `Generate cutover serve's SSH host key at FILE (ed25519, mode 0600, and FILE.pub)
if it is missing, with the same checks of owners and modes as cutover serve,
then print the key's SHA256 fingerprint, for users to compare with what their
ssh shows at their first login.`,
		Example: `  cutover host-key /etc/cutover/ssh_host_ed25519_key`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			signer, err := hostKey(a[0])
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(s.out, "%s %s\n", gossh.FingerprintSHA256(signer.PublicKey()), a[0])
			return nil
		},
	}
}
