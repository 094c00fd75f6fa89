package sshdconfig

import "testing"

func TestSuggest(t *testing.T) {
	tests := map[string]string{
		"PermitRootLogn":                    "PermitRootLogin",
		"permitrootlogn":                    "PermitRootLogin",
		"PremitRootLogin":                   "PermitRootLogin", // transposition
		"PasswordAuthenticaton":             "PasswordAuthentication",
		"PubKeyAuthentification":            "PubkeyAuthentication",
		"ChallengeResponseAuthentification": "ChallengeResponseAuthentication",
		"AllowUser":                         "AllowUsers",
		"Prot":                              "Port",
		"ListenAdress":                      "ListenAddress",
		"AuthorizedKeyFile":                 "AuthorizedKeysFile",
		"Frobnicate":                        "",
		"X":                                 "",
		"PermitRootLogin":                   "", // not a typo
	}
	for in, want := range tests {
		if got := Suggest(in, Version{}); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeywordsNewerThanTarget(t *testing.T) {
	if _, ok := CanonicalKeyword("persourcepenalties", Version{9, 2}); ok {
		t.Error("PerSourcePenalties accepted for 9.2")
	}
	if k, ok := CanonicalKeyword("persourcepenalties", Version{9, 8}); !ok || k != "PerSourcePenalties" {
		t.Errorf("9.8: %q %v", k, ok)
	}
	c := Parse("/c", []byte("PerSourcePenalties authfail:10s\n"))
	if len(c.Problems) != 1 || c.Problems[0].Hint == "" || c.Problems[0].Suggestion != "" {
		t.Errorf("problems %+v", c.Problems)
	}
}
