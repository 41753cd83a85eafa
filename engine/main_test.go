package engine

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// As in cutover itself: killed steps' orphans are reaped at once.
	if err := EnableReaping(); err != nil {
		fmt.Fprintln(os.Stderr, "enable reaping:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
