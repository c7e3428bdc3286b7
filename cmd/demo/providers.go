package main

import (
	"log/slog"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/apple"
	"github.com/socialauth-go/socialauth/backends/auth0"
	"github.com/socialauth-go/socialauth/backends/azuread"
	"github.com/socialauth-go/socialauth/backends/discord"
	"github.com/socialauth-go/socialauth/backends/github"
	"github.com/socialauth-go/socialauth/backends/gitlab"
	"github.com/socialauth-go/socialauth/backends/google"
	"github.com/socialauth-go/socialauth/backends/keycloak"
	"github.com/socialauth-go/socialauth/backends/okta"
	"github.com/socialauth-go/socialauth/backends/slack"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/views/edxsso"
)

// provider is a catalogue provider the demo registers when its
// SOCIAL_AUTH_<NAME>_KEY is set.
type provider struct {
	name  string
	build func(*settings.Settings, backends.ProviderOptions) (socialauth.Backend, error)
}

// entry makes a provider of a constructor, dropping the concrete type (and
// never putting a typed nil in the interface).
func entry[B socialauth.Backend](name string, ctor func(*settings.Settings, backends.ProviderOptions) (B, error)) provider {
	return provider{name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) {
		b, err := ctor(s, o)
		if err != nil {
			return nil, err
		}
		return b, nil
	}}
}

// catalogue lists every provider of backends/, by name.
func catalogue() []provider {
	return []provider{
		entry(github.Name, github.New), entry(google.Name, google.New), entry(gitlab.Name, gitlab.New),
		entry(azuread.Name, azuread.New), entry(apple.Name, apple.New), entry(okta.Name, okta.New),
		entry(keycloak.Name, keycloak.New), entry(auth0.Name, auth0.New), entry(discord.Name, discord.New),
		entry(slack.Name, slack.New),
	}
}

// keyVar is the environment variable that enables provider name.
func keyVar(name string) string { return settings.Keys(name, "KEY")[0] }

// enabledProviders are the catalogue providers whose
// SOCIAL_AUTH_<NAME>_KEY is set in the environment, read once at start.
func enabledProviders(lookupEnv func(string) (string, bool)) []provider {
	var out []provider
	for _, p := range catalogue() {
		if _, ok := lookupEnv(keyVar(p.name)); ok {
			out = append(out, p)
		}
	}
	return out
}

// providerFuncs turns the enabled providers into the SSO's extra backends;
// a wrong setting of one stops the start-up naming it.
func providerFuncs(list []provider, logger *slog.Logger) []edxsso.BackendFunc {
	out := make([]edxsso.BackendFunc, 0, len(list))
	for _, p := range list {
		out = append(out, func(s *settings.Settings, used socialauth.NonceStorage) (socialauth.Backend, error) {
			return p.build(s, backends.ProviderOptions{Logger: logger.With("component", p.name), UsedStates: used})
		})
	}
	return out
}
