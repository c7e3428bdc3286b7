package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// ProviderOptions are what a catalogue provider (backends/github,
// backends/google, …) takes besides its settings: the shared machinery an
// application injects. Zero values keep the config's own (or the defaults).
type ProviderOptions struct {
	// HTTPClient makes every call to the provider (copied; redirects are
	// never followed).
	HTTPClient *http.Client
	// Logger receives the backend's log lines.
	Logger *slog.Logger
	// UsedStates records redeemed sign-in flows across instances (the GORM
	// store).
	UsedStates socialauth.NonceStorage
	// Now is the clock.
	Now func() time.Time
}

// Apply sets the options that are not zero on c (for a provider that
// builds its config itself).
func (p ProviderOptions) Apply(c *OAuth2Config) {
	if p.HTTPClient != nil {
		c.HTTPClient = p.HTTPClient
	}
	if p.Logger != nil {
		c.Logger = p.Logger
	}
	if p.UsedStates != nil {
		c.UsedStates = p.UsedStates
	}
	if p.Now != nil {
		c.Now = p.Now
	}
}

// OAuth2ProviderFrom builds a catalogue OAuth2 provider: def holds its code
// defaults (Name, endpoints, scope, extra data, hooks), the settings of
// def.Name are laid over them (OAuth2ConfigFrom) and opts injected. Every
// error is ImproperlyConfigured naming its setting.
func OAuth2ProviderFrom(s *settings.Settings, def OAuth2Config, opts ProviderOptions) (*OAuth2, error) {
	cfg, err := OAuth2ConfigFrom(s, def)
	if err != nil {
		return nil, err
	}
	opts.Apply(&cfg)
	return NewOAuth2(cfg)
}

// OIDCProviderFrom is OAuth2ProviderFrom for an OpenID Connect provider
// (OIDCConfigFrom, then NewOIDC).
func OIDCProviderFrom(s *settings.Settings, def OIDCConfig, opts ProviderOptions) (*OIDC, error) {
	cfg, err := OIDCConfigFrom(s, def)
	if err != nil {
		return nil, err
	}
	opts.Apply(&cfg.OAuth2)
	return NewOIDC(cfg)
}

// GetJSONList is GetJSON for an endpoint that answers a JSON array (GitHub's
// /user/emails), with the same limits and error mapping.
func (o *OAuth2) GetJSONList(ctx context.Context, url, accessToken string) ([]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid provider URL", nil)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	_, body, err := o.send(ctx, req)
	if err != nil {
		return nil, err
	}
	list, err := decodeList(body)
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "response is not a JSON array", nil)
	}
	return list, nil
}

// decodeList decodes one JSON array, numbers kept as json.Number.
func decodeList(body []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var list []any
	if err := dec.Decode(&list); err != nil {
		return nil, err
	}
	if list == nil {
		return nil, errors.New("null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return list, nil
}

// VerifiedEmail returns the primary email of a GitHub-style email list
// ([{"email": …, "primary": bool, "verified": bool}, …]) when it is
// verified, else "". An unverified address is never returned: it was never
// proven to belong to the account, and details["email"] feeds association
// by email.
func VerifiedEmail(list []any) string {
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok || m["primary"] != true {
			continue
		}
		if email, _ := m["email"].(string); m["verified"] == true && strings.Contains(email, "@") {
			return email
		}
		return ""
	}
	return ""
}

// DetailKeys name the response keys of the user details (empty: not
// mapped).
type DetailKeys struct {
	Username, Email, FullName, FirstName, LastName string
	// EmailVerified, when set, names the claim that must be true (or
	// "true") for the email to be kept: an address the provider has not
	// verified never reaches details["email"], which association by email
	// trusts.
	EmailVerified string
}

// ClaimDetails maps response to the user details through k, falling back to
// the verified ID-token claims for each key, names completed as upstream's
// get_user_names.
func ClaimDetails(response map[string]any, k DetailKeys) socialauth.Details {
	claims := claimsOf(response)
	get := func(key string) string {
		if key == "" {
			return ""
		}
		if v := StringOf(response[key]); v != "" {
			return v
		}
		return StringOf(claims[key])
	}
	full, first, last := UserNames(get(k.FullName), get(k.FirstName), get(k.LastName))
	email := get(k.Email)
	if k.EmailVerified != "" && get(k.EmailVerified) != "true" {
		email = ""
	}
	return socialauth.Details{
		"username": get(k.Username), "email": email,
		"fullname": full, "first_name": first, "last_name": last,
	}
}

// Claim returns a top-level response value, else the ID-token claim of
// that name, as text.
func Claim(response map[string]any, key string) string {
	if v := StringOf(response[key]); v != "" {
		return v
	}
	return StringOf(claimsOf(response)[key])
}

// HostName turns a host setting (Auth0's DOMAIN: "tenant.auth0.com", or an
// absolute http(s) URL for a self-hosted or test server) into a base URL
// without trailing slash; ok is false when it is neither.
func HostName(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", false
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || settings.CheckAbsoluteURL(v) != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return strings.TrimRight(v, "/"), true
}

// ReaderErr returns the errors r recorded for backend as one
// ImproperlyConfigured error (nil when none): a provider reading its own
// settings (API_URL, TENANT_ID, …) reports them as the bases do.
func ReaderErr(backend string, r *settings.Reader) error {
	if err := r.Err(); err != nil {
		return configError(backend, err)
	}
	return nil
}
