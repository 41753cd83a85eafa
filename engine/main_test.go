package engine

import (
	"fmt"
	"os"
	"testing"

	"github.com/cutover-sh/cutover/proc"
)

func TestMain(m *testing.M) {
	// As in cutover itself: killed steps' orphans are reaped at once.
	if err := proc.EnableReaping(); err != nil {
		fmt.Fprintln(os.Stderr, "enable reaping:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
