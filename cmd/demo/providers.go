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

// backendOf drops the concrete type (and never puts a typed nil in the
// interface).
func backendOf[B socialauth.Backend](b B, err error) (socialauth.Backend, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}

// catalogue lists every provider of backends/, by name.
func catalogue() []provider {
	p := func(name string, build func(*settings.Settings, backends.ProviderOptions) (socialauth.Backend, error)) provider {
		return provider{name, build}
	}
	return []provider{
		p(github.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(github.New(s, o)) }),
		p(google.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(google.New(s, o)) }),
		p(gitlab.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(gitlab.New(s, o)) }),
		p(azuread.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(azuread.New(s, o)) }),
		p(apple.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(apple.New(s, o)) }),
		p(okta.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(okta.New(s, o)) }),
		p(keycloak.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(keycloak.New(s, o)) }),
		p(auth0.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(auth0.New(s, o)) }),
		p(discord.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(discord.New(s, o)) }),
		p(slack.Name, func(s *settings.Settings, o backends.ProviderOptions) (socialauth.Backend, error) { return backendOf(slack.New(s, o)) }),
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
