package textdist

import "testing"

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"tcp.rejectd", "tcp.rejected", 1}, {"deploy", "depoly", 2}, {"root", "", 4}, {"kitten", "sitting", 3}} {
		if got := Levenshtein(c.a, c.b); got != c.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Levenshtein(c.b, c.a); got != c.want {
			t.Errorf("not symmetric for %q, %q", c.a, c.b)
		}
	}
}
