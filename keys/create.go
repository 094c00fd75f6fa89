package keys

import (
	"errors"
	"fmt"
	"path/filepath"
)

// CreateOptions describe `keys new`.
type CreateOptions struct {
	// New describes the key.
	New NewOptions
	// Path is the private key file; empty means ~/.ssh/id_TYPE.
	Path string
	// Home is the local home directory.
	Home string
	// Host, when set, gets IdentityFile pointing at the new key in
	// ConfigFile (empty ConfigFile means ~/.ssh/config).
	Host       string
	ConfigFile string
}

// Create makes a key pair and writes it (0600 and 0644), and with Host
// adds it as that Host's IdentityFile.
func Create(o CreateOptions) *Result {
	r := newResult("new", nil)
	rec := &recorder{r: r}
	rec.begin()
	pair, err := Generate(o.New)
	if err != nil {
		return rec.fail(&Error{Step: "generate", Reason: ReasonLocal, Message: plain(err)}, "generate")
	}
	path := o.Path
	if path == "" {
		path = filepath.Join(o.Home, ".ssh", "id_"+shortType(pair.Public))
	}
	if err := pair.WriteFiles(path); err != nil {
		hint := ""
		var ee *ExistsError
		if errors.As(err, &ee) {
			hint = "choose another --file, or remove the old key first if you are sure nothing uses it"
		}
		return rec.fail(&Error{Step: "generate", Reason: ReasonLocal, Message: plain(err), Hint: hint}, "generate")
	}
	k := &PublicKey{Key: pair.Public, Comment: pair.Comment, PubFile: path + ".pub", PrivateFile: path, Signer: pair.Signer, Encrypted: pair.Encrypted}
	r.Key = k.info()
	rec.ok("generate", fmt.Sprintf("%s %s in %s (0600) and %s.pub (0644)", pair.Public.Type(), k.Fingerprint(), path, path))
	if o.Host != "" {
		cfg := o.ConfigFile
		if cfg == "" {
			cfg = filepath.Join(o.Home, ".ssh", "config")
		}
		ch, err := SetIdentityFile(cfg, o.Host, path, "", o.Home)
		if err != nil {
			return rec.fail(&Error{Step: "config", Reason: ReasonLocal, Message: plain(err)}, "config")
		}
		r.Config = ch
		if ch.Manual != "" {
			r.Notes = append(r.Notes, ch.Manual)
			rec.warn("config", ch.Manual)
		} else {
			rec.ok("config", fmt.Sprintf("IdentityFile %s for Host %s in %s", ch.IdentityFile, o.Host, cfg))
		}
	}
	r.OK = true
	return r
}
