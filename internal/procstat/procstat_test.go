package procstat

import "testing"

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		name, stat string
		want       int64
		wantErr    bool
	}{
		{"plain", "42 (postgres) S 1 42 42 0 -1 4194560 900 0 0 0 250 37 0 0 20 0 1 0 100 2246696 20000", 287, false},
		{"spaces and parentheses in the name", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1", 11, false},
		{"no name", "42 postgres S 1", 0, true},
		{"too short", "42 (postgres) S 1 2 3", 0, true},
		{"not a number", "42 (postgres) S 1 42 42 0 -1 4194560 900 0 0 0 x 37 0", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Ticks([]byte(c.stat))
			if (err != nil) != c.wantErr || got != c.want {
				t.Errorf("Ticks(%q) = %d, %v; want %d (error %v)", c.stat, got, err, c.want, c.wantErr)
			}
		})
	}
}
