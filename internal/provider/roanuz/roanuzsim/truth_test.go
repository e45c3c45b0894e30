package roanuzsim

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestTruthAgreesWithTheDocuments checks the account of the timeline
// against the Match API documents the simulator renders, step by step:
// status, play status, toss, squads, innings started and completed, the
// innings scores and the latest ball.
func TestTruthAgreesWithTheDocuments(t *testing.T) {
	for _, seed := range []uint64{1, 5, 11} {
		tl := newTimeline(seed, "m1", 4)
		tr := tl.truth()
		if len(tr.Steps) != len(tl.steps) || len(tr.Balls) != len(tl.balls) {
			t.Fatalf("seed %d: %d steps and %d balls, timeline %d and %d", seed, len(tr.Steps), len(tr.Balls), len(tl.steps), len(tl.balls))
		}
		corrections := 0
		for i, st := range tr.Steps {
			var doc struct {
				Data struct {
					Status string `json:"status"`
					Play   string `json:"play_status"`
					Toss   any    `json:"toss"`
					Squad  map[string]any
					P      struct {
						Order   []string `json:"innings_order"`
						Innings map[string]struct {
							Runs, Wickets int
							Overs         [2]int
							Completed     bool `json:"is_completed"`
						}
						Balls map[string]json.RawMessage `json:"related_balls"`
					} `json:"play"`
				}
			}
			if err := json.Unmarshal(tl.matchDoc(i), &doc); err != nil {
				t.Fatal(err)
			}
			d := doc.Data
			got := fmt.Sprintf("%s/%s toss=%v squads=%v innings=%d", d.Status, d.Play, d.Toss != nil, len(d.Squad) > 0, len(d.P.Order))
			want := fmt.Sprintf("%s/%s toss=%v squads=%v innings=%d", st.Status, st.PlayStatus, st.Toss, st.Squads, st.Innings)
			if got != want {
				t.Fatalf("seed %d step %d (%s): document %s, truth %s", seed, i, st.Kind, got, want)
			}
			done := 0
			for side, k := range d.P.Order {
				in := d.P.Innings[k]
				sc := st.Score
				if in.Runs != sc.Runs[side] || in.Wickets != sc.Wickets[side] || in.Overs[0]*6+in.Overs[1] != sc.Legal[side] {
					t.Fatalf("seed %d step %d: innings %s %+v, truth %+v", seed, i, k, in, sc)
				}
				if in.Completed {
					done++
				}
			}
			if done != st.InningsDone {
				t.Fatalf("seed %d step %d: %d innings completed, truth %d", seed, i, done, st.InningsDone)
			}
			if st.LastBall != "" && d.P.Balls[st.LastBall] == nil {
				t.Fatalf("seed %d step %d: latest ball %s not among the related balls", seed, i, st.LastBall)
			}
			if st.Correction {
				corrections++
			}
		}
		last := tr.Steps[len(tr.Steps)-1]
		if last.Status != "completed" || last.InningsDone != 2 || corrections == 0 {
			t.Fatalf("seed %d: last step %+v, %d corrections", seed, last, corrections)
		}
	}
}
