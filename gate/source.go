package gate

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Source is the rules' source: section: the query karmagate runs on the
// website's own database (KARMAGATE_SOURCE) to pull its members, and how
// often.
type Source struct {
	// Query returns one row per member, or one per member and group:
	// columns id, karma and groups, optionally name, phone and username.
	Query string
	// Every is how often the query runs.
	Every time.Duration
	// MaxDeletePercent bounds the members one poll may delete because the
	// query no longer returns them, as a share of the members karmagate
	// has; a poll that would delete more deletes none. 0 never deletes.
	MaxDeletePercent int
}

// Bounds and defaults of the source: section.
const (
	DefaultSourceEvery      = time.Minute
	MinSourceEvery          = 10 * time.Second
	MaxSourceEvery          = 24 * time.Hour
	DefaultMaxDeletePercent = 10
	MaxSourceQuery          = 64 << 10
)

// source reads the source: section.
func (p parser) source(n *yaml.Node) (*Source, error) {
	src := &Source{Every: DefaultSourceEvery, MaxDeletePercent: DefaultMaxDeletePercent}
	haveQuery := false
	err := p.mapping(n, "source", func(field string, k, v *yaml.Node) error {
		switch field {
		case "query":
			if v.Kind != yaml.ScalarNode {
				return p.errf(v, "source.query must be text: the SELECT that returns id, karma and groups")
			}
			q := strings.TrimSpace(v.Value)
			q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
			switch {
			case q == "":
				return p.errf(v, "source.query is empty: write the SELECT that returns id, karma and groups")
			case len(q) > MaxSourceQuery:
				return p.errf(v, "source.query is %d bytes; at most %d", len(q), MaxSourceQuery)
			case !isSelect(q):
				return p.errf(v, "source.query must be a SELECT (or WITH … SELECT): karmagate only reads the website's database")
			case strings.Contains(q, ";"):
				return p.errf(v, "source.query holds a ';': write one SELECT, without other statements")
			}
			src.Query, haveQuery = q, true
		case "every":
			if v.Kind != yaml.ScalarNode {
				return p.errf(v, "source.every must be a duration such as 1m or 30s")
			}
			d, err := time.ParseDuration(v.Value)
			if err != nil {
				return p.errf(v, "source.every: %q is not a duration (use e.g. 30s, 1m, 1h)", v.Value)
			}
			if d < MinSourceEvery || d > MaxSourceEvery {
				return p.errf(v, "source.every is %s; use between %s and %s", d, MinSourceEvery, "24h")
			}
			src.Every = d
		case "max_delete":
			pct, ok := percent(v)
			if !ok {
				return p.errf(v, "source.max_delete must be a percentage from 0%% to 100%%, such as 10%%, not %q", v.Value)
			}
			src.MaxDeletePercent = pct
		default:
			return p.errf(k, "source: unknown field %q (expected query, every, max_delete)", field)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveQuery {
		return nil, p.errf(n, "source: query is required (the SELECT that returns id, karma and groups)")
	}
	return src, nil
}

// isSelect reports whether a query starts, after comments and opening
// parentheses, with SELECT or WITH.
func isSelect(q string) bool {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--") || strings.HasPrefix(q, "#"):
			_, rest, ok := strings.Cut(q, "\n")
			if !ok {
				return false
			}
			q = rest
		case strings.HasPrefix(q, "/*"):
			_, rest, ok := strings.Cut(q, "*/")
			if !ok {
				return false
			}
			q = rest
		default:
			end := strings.IndexFunc(q, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') })
			if end < 0 {
				end = len(q)
			}
			word := strings.ToUpper(q[:end])
			return word == "SELECT" || word == "WITH"
		}
	}
}

// percent reads "10%", an integer from 0 to 100 with a percent sign.
func percent(v *yaml.Node) (int, bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, false
	}
	s, ok := strings.CutSuffix(strings.TrimSpace(v.Value), "%")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 100 {
		return 0, false
	}
	return n, true
}
