package backends

import (
	"encoding/json"

	"math"
	"strconv"
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// UserDetails maps the provider response with the backend's Details hook, or
// by default reads username, email, fullname/name, first_name and last_name.
func (o *OAuth2) UserDetails(_ socialauth.Strategy, response map[string]any) socialauth.Details {
	if o.cfg.Details != nil {
		return o.cfg.Details(response)
	}
	full := StringOf(response["fullname"])
	if full == "" {
		full = StringOf(response["name"])
	}
	full, first, last := UserNames(full, StringOf(response["first_name"]), StringOf(response["last_name"]))
	return socialauth.Details{
		"username":   StringOf(response["username"]),
		"email":      StringOf(response["email"]),
		"fullname":   full,
		"first_name": first,
		"last_name":  last,
	}
}

// UserNames is upstream's get_user_names: fullname is split on its first
// space when first and last names are missing; all are trimmed.
func UserNames(fullname, first, last string) (string, string, string) {
	fullname, first, last = strings.TrimSpace(fullname), strings.TrimSpace(first), strings.TrimSpace(last)
	if fullname != "" && first == "" && last == "" {
		if f, l, ok := strings.Cut(fullname, " "); ok {
			first, last = f, strings.TrimSpace(l)
		} else {
			first = fullname
		}
	}
	if fullname == "" {
		fullname = strings.TrimSpace(first + " " + last)
	}
	return fullname, first, last
}

// IDKey returns the key of the uid: the ID_KEY setting of the backend's
// configured Settings, else the backend's own.
func (o *OAuth2) IDKey() string { return o.idKey(nil) }

// idKey reads ID_KEY from the request's settings (s may be nil).
func (o *OAuth2) idKey(s socialauth.Strategy) string {
	if k, err := o.settingsOf(s).String(o.cfg.Name, "ID_KEY", ""); err == nil && k != "" {
		return k
	}
	return o.cfg.IDKey
}

// settingsOf returns the settings in force: the strategy's, else the ones
// the backend was configured with (calls outside a request).
func (o *OAuth2) settingsOf(s socialauth.Strategy) *settings.Settings {
	if s != nil {
		if set := s.Settings(); set != nil {
			return set
		}
	}
	return o.cfg.Settings
}

// UserID returns details[ID_KEY] when set, else response[ID_KEY], as text.
// A missing or empty uid is an error: no association is ever looked up or
// created with an empty uid.
func (o *OAuth2) UserID(s socialauth.Strategy, details socialauth.Details, response map[string]any) (string, error) {
	key := o.idKey(s)
	uid := StringOf(details[key])
	if uid == "" {
		uid = StringOf(response[key])
	}
	if uid == "" {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "provider response has no usable "+safeCode(key), nil)
	}
	return uid, nil
}

// StringOf formats a JSON scalar as text: strings as is, integral numbers
// without exponent or fraction (json.Number keeps every digit), bools as
// true/false; nil and anything else give "".
func StringOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatInt(int64(t), 10)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// ExtraData returns what to store in UserSocialAuth.ExtraData: auth_time, the
// EXTRA_DATA entries (or every response key with GET_ALL_EXTRA_DATA), the
// access_token and token_type, and what MoreExtraData adds.
func (o *OAuth2) ExtraData(s socialauth.Strategy, _ *socialauth.User, uid string, response map[string]any, details socialauth.Details) map[string]any {
	out := map[string]any{"auth_time": o.now().Unix()}
	all, _ := o.settingsOf(s).Bool(o.cfg.Name, "GET_ALL_EXTRA_DATA", false)
	if all {
		for k, v := range response {
			out[k] = v
		}
	} else {
		for _, f := range append(slices2(o.cfg.ExtraData), o.extraDataSetting(s)...) {
			alias := f.Alias
			if alias == "" {
				alias = f.Name
			}
			v, ok := response[f.Name]
			if !ok {
				if v, ok = details[f.Name]; !ok {
					v, ok = details[alias]
				}
			}
			if !ok || (f.DiscardIfEmpty && isEmpty(v)) {
				continue
			}
			out[alias] = v
		}
	}
	if at, ok := response["access_token"]; ok {
		out["access_token"] = at
	}
	if tt, ok := response["token_type"]; ok {
		out["token_type"] = tt
	}
	if o.cfg.MoreExtraData != nil {
		o.cfg.MoreExtraData(uid, response, details, out)
	}
	return out
}

func slices2(f []ExtraDataField) []ExtraDataField { return append([]ExtraDataField(nil), f...) }

// extraDataSetting reads the EXTRA_DATA setting: a list whose entries are
// "name", ["name"], ["name", "alias"] or ["name", "alias", true]; a string
// "name:alias" is accepted too. Malformed entries are skipped.
func (o *OAuth2) extraDataSetting(s socialauth.Strategy) []ExtraDataField {
	v, _, ok := o.settingsOf(s).Lookup(o.cfg.Name, "EXTRA_DATA")
	if !ok {
		return nil
	}
	var out []ExtraDataField
	add := func(e any) {
		switch t := e.(type) {
		case string:
			name, alias, _ := strings.Cut(t, ":")
			if name != "" {
				out = append(out, ExtraDataField{Name: name, Alias: alias})
			}
		case []string:
			if len(t) >= 1 && len(t) <= 2 && t[0] != "" {
				f := ExtraDataField{Name: t[0]}
				if len(t) == 2 {
					f.Alias = t[1]
				}
				out = append(out, f)
			}
		case []any:
			if len(t) < 1 || len(t) > 3 {
				return
			}
			name, _ := t[0].(string)
			if name == "" {
				return
			}
			f := ExtraDataField{Name: name}
			if len(t) >= 2 {
				f.Alias, _ = t[1].(string)
			}
			if len(t) == 3 {
				f.DiscardIfEmpty, _ = t[2].(bool)
			}
			out = append(out, f)
		}
	}
	switch t := v.(type) {
	case []string:
		for _, e := range t {
			add(e)
		}
	case []any:
		for _, e := range t {
			add(e)
		}
	case string:
		for _, e := range strings.Split(t, ",") {
			add(strings.TrimSpace(e))
		}
	}
	return out
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case bool:
		return !t
	case json.Number:
		f, err := t.Float64()
		return err == nil && f == 0
	case float64:
		return t == 0
	case int:
		return t == 0
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}
