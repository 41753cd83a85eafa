package engine

import (
	"strings"
	"testing"
)

func TestFindResume(t *testing.T) {
	started := func(run string) Record {
		return Record{Type: RecRunStarted, Run: run, Pipeline: "web", Holder: "alice on b1 (run " + run + ")"}
	}
	stage := func(run, name string, st Status) Record {
		return Record{Type: RecStageFinished, Run: run, Stage: name, Status: st}
	}
	tests := []struct {
		name      string
		recs      []Record
		succeeded string
		holder    string
		wantErr   string
	}{
		{"died mid-release", []Record{started("A"), stage("A", "build", StatusSucceeded), stage("A", "tests", StatusSucceeded)},
			"build tests", "alice on b1 (run A)", ""},
		{"a resumed run that died too keeps what the first did",
			[]Record{started("A"), stage("A", "build", StatusSucceeded), started("B"),
				{Type: RecStageSkipped, Run: "B", Stage: "build", Reason: "succeeded in run A" + resumeSkip}, stage("B", "tests", StatusSucceeded)},
			"build tests", "alice on b1 (run B)", ""},
		{"a run that ended is run again, not resumed",
			[]Record{started("A"), stage("A", "build", StatusFailed), {Type: RecRunFinished, Run: "A", Status: StatusFailed}}, "", "", "ended (failed)"},
		{"a run cutover serve suspended is resumed",
			[]Record{started("A"), stage("A", "build", StatusSucceeded), {Type: RecRunSuspended, Run: "A"}, {Type: RecRunAborted, Run: "A"},
				stage("A", "tests", StatusCancelled), {Type: RecRunFinished, Run: "A", Status: StatusAborted}},
			"build", "alice on b1 (run A)", ""},
		{"a rolled-back release is not resumed",
			[]Record{started("A"), {Type: RecRollbackRequested, Run: "A", Actor: &Actor{Name: "bob"}, Reason: "5xx"}}, "", "", "bob asked for a rollback (5xx)"},
		{"no run", []Record{{Type: RecRunStarted, Run: "A", Pipeline: "other"}}, "", "", "no run of pipeline web"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := FindResume(tc.recs, "web")
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error: got %v, want %q", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := strings.Join(r.Succeeded, " "); got != tc.succeeded || r.Holder != tc.holder {
				t.Errorf("got %q held by %q, want %q held by %q", got, r.Holder, tc.succeeded, tc.holder)
			}
		})
	}
}
