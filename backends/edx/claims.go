package edx

import (
	"strings"

	"github.com/socialauth-go/socialauth"
)

// UserDataClaims are the access-token claims kept as user data (upstream's
// user_data whitelist), in upstream's order. Every other claim (iss, sub,
// aud, exp, iat, scopes, …) is dropped.
func UserDataClaims() []string {
	return []string{
		"preferred_username", "email", "name", "given_name", "family_name",
		"locale", "user_id", "administrator", "superuser",
	}
}

// ClaimToDetail is one entry of upstream's PROFILE_CLAIMS_TO_DETAILS_KEY_MAP.
type ClaimToDetail struct{ Claim, Detail string }

// ClaimsToDetails is upstream's PROFILE_CLAIMS_TO_DETAILS_KEY_MAP, in order.
// Note full_name, not social-core's usual fullname.
func ClaimsToDetails() []ClaimToDetail {
	return []ClaimToDetail{
		{"preferred_username", "username"},
		{"email", "email"},
		{"name", "full_name"},
		{"given_name", "first_name"},
		{"family_name", "last_name"},
		{"locale", "language"},
		{"user_id", "user_id"},
	}
}

// FilterUserData returns the UserDataClaims present in claims, values as is
// (nil, false and "" included).
func FilterUserData(claims map[string]any) map[string]any {
	out := make(map[string]any, 9)
	for _, c := range UserDataClaims() {
		if v, ok := claims[c]; ok {
			out[c] = v
		}
	}
	return out
}

// UserDetails maps a provider response (token response merged with user
// data) to details as upstream's get_user_details: each mapped claim that is
// present and not null is copied (empty strings and false included);
// language is the locale lower-cased with '_' → '-' when the locale is a
// non-empty string; is_staff is the administrator claim and is_superuser the
// superuser claim, false when absent.
//
// The detail keys, for USER_FIELDS, PROTECTED_USER_FIELDS and your own
// steps: username, email, full_name (not social-core's usual fullname),
// first_name, last_name, language, user_id, is_staff, is_superuser. Those
// a user table does not map are skipped by create_user and user_details.
func UserDetails(response map[string]any) socialauth.Details {
	d := socialauth.Details{}
	for _, m := range ClaimsToDetails() {
		if v, ok := response[m.Claim]; ok && v != nil {
			d[m.Detail] = v
		}
	}
	if locale, ok := response["locale"].(string); ok && locale != "" {
		d["language"] = ToLanguage(locale)
	}
	d["is_staff"] = claimOr(response, "administrator", false)
	d["is_superuser"] = claimOr(response, "superuser", false)
	return d
}

// ToLanguage turns a locale into a language code: en_US → en-us.
func ToLanguage(locale string) string {
	return strings.ToLower(strings.ReplaceAll(locale, "_", "-"))
}

func claimOr(m map[string]any, k string, def any) any {
	if v, ok := m[k]; ok {
		return v
	}
	return def
}
