package mde

import (
	"testing"
	"time"
)

func TestNextSlots(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// Each window is WindowMargin (2 s) wider than Defender's own.
	const m = WindowMargin
	tests := []struct {
		name  string
		calls []time.Time
		l     Limits
		want  []time.Duration // offsets from now
	}{
		{"empty two per minute", nil, Limits{2, 120}, []time.Duration{0, 0, time.Minute + m, time.Minute + m, 2 * (time.Minute + m)}},
		{"one call 10s ago", []time.Time{ago(10 * time.Second)}, Limits{2, 120}, []time.Duration{0, 50*time.Second + m, time.Minute + m, 110*time.Second + 2*m}},
		{"minute full", []time.Time{ago(30 * time.Second), ago(20 * time.Second)}, Limits{2, 120}, []time.Duration{30*time.Second + m, 40*time.Second + m}},
		{"old calls ignored", []time.Time{ago(2 * time.Hour), ago(61*time.Second + m)}, Limits{2, 120}, []time.Duration{0, 0}},
		{"hour full", []time.Time{ago(50 * time.Minute), ago(40 * time.Minute), ago(30 * time.Minute)}, Limits{5, 3}, []time.Duration{10*time.Minute + m, 20*time.Minute + m}},
		{"both windows", []time.Time{ago(59 * time.Minute), ago(10 * time.Second)}, Limits{1, 2}, []time.Duration{time.Minute + m, 50*time.Second + 59*time.Minute + m}},
		// Another replica's clock runs 5 s ahead: its fresh call still counts.
		{"call stamped in the future", []time.Time{now.Add(5 * time.Second), ago(time.Second)}, Limits{2, 120}, []time.Duration{59*time.Second + m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextSlots(tt.calls, now, tt.l, len(tt.want))
			for i, w := range tt.want {
				if d := got[i].Sub(now); d != w {
					t.Errorf("slot %d = now+%v, want now+%v", i, d, w)
				}
			}
		})
	}
}
