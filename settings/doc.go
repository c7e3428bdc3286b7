// Package settings resolves Django-style setting names the way python-social-auth's
// BaseStrategy.setting(name, default, backend) does.
//
// A setting NAME asked for on behalf of a backend is looked up under these keys, in order:
//
//  1. SOCIAL_AUTH_<BACKEND>_<NAME> (only when a backend name is given)
//  2. SOCIAL_AUTH_<NAME>
//  3. <NAME> (a bare global such as LOGIN_REDIRECT_URL), exactly as given
//  4. the caller's default
//
// The backend name and NAME are upper-cased (ASCII) and '-' becomes '_' in the prefixed keys,
// so backend "edx-oauth2" and name "URL_ROOT" give SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT. A NAME that
// already starts with "SOCIAL_AUTH_" is looked up as given and nowhere else.
//
// The first key that is set anywhere wins, even if its value is nil (Python's None) or "":
// "unset" is not the same as "set to empty". Use [Settings.IsSet] or [Settings.Lookup] when the
// difference matters.
//
// Values come from [Source]s. A [Settings] layers them: [New] takes sources from lowest to
// highest priority (New(defaults, env, code)), [Settings.With] adds higher-priority sources,
// [Settings.WithDefaults] adds lowest-priority ones (a strategy's default table), and
// [Settings.WithFilter] lets a strategy treat some values as unset. The merge is per key: for
// each candidate key in order, the highest-priority source holding that key answers, so a
// default for SOCIAL_AUTH_PIPELINE answers before a bare PIPELINE set in code.
//
// Typed getters ([Settings.String], [Settings.Bool], [Settings.Int], [Settings.Duration],
// [Settings.StringList], [Settings.StringMap]) accept native Go values and also parse strings,
// so environment variables work. A value of the wrong type is a [*TypeError] (errors.Is
// [ErrWrongType]) whose text never contains the value, which may be a secret.
//
// A Settings is immutable once built and safe for concurrent use.
package settings
