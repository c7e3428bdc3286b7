package securitytest

import (
	"testing"
)

// The harness itself: a login works with every backend, so that each
// rejection below is a rejection of the attack and not of a broken setup.
func TestLoginWorksWithEveryBackend(t *testing.T) {
	for _, backend := range []string{edxName, oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				b := e.browser()
				p := b.login(backend)
				if p.location() != "/done/" {
					t.Errorf("Location = %q, want /done/", p.location())
				}
				if e.count("social_auth_usersocialauth") != 1 {
					t.Errorf("associations = %d", e.count("social_auth_usersocialauth"))
				}
				if p.header.Get("Referrer-Policy") != "no-referrer" || p.header.Get("Cache-Control") != "no-store" {
					t.Errorf("complete headers = %v", p.header)
				}
				if e.lms.Calls().Token != 1 {
					t.Errorf("token calls = %d", e.lms.Calls().Token)
				}
			})
		})
	}
}

// The canary search finds a planted leak of each kind of secret (so its
// silence elsewhere means something).
func TestCanaryDetectorFindsPlantedLeaks(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	b.login(edxName)
	if l := e.leaks(); len(l) != 0 {
		t.Fatalf("leaks after a clean login: %v", l)
	}
	e.harvestStoredSecrets()
	e.mu.Lock()
	kinds := map[string]string{}
	for v, k := range e.secrets {
		kinds[k] = v
	}
	e.mu.Unlock()
	for _, want := range []string{"client secret", "authorization code", "token request code_verifier", "access_token", "refresh_token", "session id"} {
		v, ok := kinds[want]
		if !ok {
			t.Errorf("no %s canary was collected (kinds: %v)", want, keysOf(kinds))
			continue
		}
		e.logs.Reset()
		_, _ = e.logs.Write([]byte(`{"msg":"oops","v":"` + v + `"}` + "\n"))
		if len(e.leaks()) == 0 {
			t.Errorf("a planted %s in the logs was not found", want)
		}
	}
	e.logs.Reset()
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
