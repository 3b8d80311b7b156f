package iostreams

// ColorScheme wraps text in ANSI styles when colour is enabled and returns it
// unchanged otherwise, so callers never check the setting themselves.
type ColorScheme struct {
	enabled bool
}

// Enabled reports whether the scheme adds escape sequences.
func (c *ColorScheme) Enabled() bool { return c.enabled }

func (c *ColorScheme) style(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (c *ColorScheme) Bold(s string) string   { return c.style("1", s) }
func (c *ColorScheme) Red(s string) string    { return c.style("31", s) }
func (c *ColorScheme) Green(s string) string  { return c.style("32", s) }
func (c *ColorScheme) Yellow(s string) string { return c.style("33", s) }
func (c *ColorScheme) Gray(s string) string   { return c.style("90", s) }

// The icons are plain characters that read well without colour too.
func (c *ColorScheme) SuccessIcon() string { return c.Green("✓") }
func (c *ColorScheme) WarningIcon() string { return c.Yellow("!") }
func (c *ColorScheme) FailureIcon() string { return c.Red("X") }
