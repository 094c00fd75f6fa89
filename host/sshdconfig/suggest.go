package sshdconfig

import "strings"

// Suggest returns the known keyword closest to an unknown one, for the "did
// you mean" of a "Bad configuration option" (PermitRootLogn becomes
// PermitRootLogin). It returns "" when nothing is close enough to be a
// plausible typo: a wrong suggestion in a fix is worse than none.
//
// Distance is counted case-insensitively with transpositions as one edit
// (Damerau-Levenshtein, optimal string alignment), since swapped letters are
// the commonest typo. The bound grows with the word: two edits for short
// keywords, a quarter of the length for long ones.
func Suggest(word string, v Version) string {
	v = v.orDefault()
	w := strings.ToLower(word)
	if w == "" || len(w) > 64 {
		return ""
	}
	limit := max(2, len(w)/4)
	best, bestDist := "", limit+1
	for _, k := range keywordTable {
		if !k.since.IsZero() && v.Less(k.since) {
			continue
		}
		lk := strings.ToLower(k.name)
		if abs(len(lk)-len(w)) > limit {
			continue
		}
		d := osaDistance(w, lk)
		if d < bestDist {
			best, bestDist = k.name, d
		}
	}
	if bestDist == 0 {
		// Same letters, other case: not a typo sshd would reject.
		return ""
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// osaDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and adjacent transpositions cost one each.
func osaDistance(a, b string) int {
	n, m := len(a), len(b)
	d := make([][]int, n+1)
	for i := range d {
		d[i] = make([]int, m+1)
		d[i][0] = i
	}
	for j := 0; j <= m; j++ {
		d[0][j] = j
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[n][m]
}
