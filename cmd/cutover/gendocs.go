//go:build gendocs

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// gendocs writes the man pages at release time:
//
//	go run -tags gendocs ./cmd/cutover gendocs man DIR
//
// Behind a build tag so that the man-page renderer is not linked into
// the binary people copy to a bastion.
func init() {
	extraCommands = append(extraCommands, func(root *cobra.Command) *cobra.Command {
		return &cobra.Command{
			Use:    "gendocs man DIR",
			Short:  "Write a man page for every command to DIR",
			Hidden: true,
			Args:   cobra.ExactArgs(2),
			RunE: func(_ *cobra.Command, a []string) error {
				if a[0] != "man" {
					return fmt.Errorf("gendocs: %q: only man pages are made", a[0])
				}
				if err := os.MkdirAll(a[1], 0o750); err != nil {
					return err
				}
				root.DisableAutoGenTag = true
				return doc.GenManTree(root, &doc.GenManHeader{Title: "CUTOVER", Section: "1", Source: "cutover " + currentBuild().Version, Manual: "cutover manual"}, a[1])
			},
		}
	})
}
