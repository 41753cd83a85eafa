package spec

import (
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		in      string
		want    Condition
		wantErr string
	}{
		{"< 0.05", Condition{"<", 0.05}, ""},
		{">=10", Condition{">=", 10}, ""},
		{" <= 2 ", Condition{"<=", 2}, ""},
		{"!= 0", Condition{"!=", 0}, ""},
		{"0.05", Condition{}, "want a comparison"},
		{"< five", Condition{}, "with a number"},
		{"< NaN", Condition{}, "with a number"},
	}
	for _, tc := range tests {
		got, err := ParseCondition(tc.in)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseCondition(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
