package translate_test

// choices reads the decisions of the snapshot generator from the fuzz engine's bytes. Every
// decision consumes bytes from the front, so the engine's mutations of a byte change one decision
// and the ones after it; once the bytes run out every decision is 0 (the first option, the
// shortest list), so any input, even an empty one, gives a finite, valid snapshot.
type choices struct {
	data []byte
	// big makes lists long: most lengths near the API's maxima. Limits on totals (message
	// sizes, status list sizes, generated name suffixes) are only reached with many long lists
	// at once, which coverage guidance alone does not steer towards.
	big bool
}

func (c *choices) byte() byte {
	if len(c.data) == 0 {
		return 0
	}
	b := c.data[0]
	c.data = c.data[1:]
	return b
}

// intn returns a number in [0, n) (0 when n <= 1). Two bytes when n needs them.
func (c *choices) intn(n int) int {
	switch {
	case n <= 1:
		return 0
	case n <= 256:
		return int(c.byte()) % n
	default:
		return (int(c.byte())<<8 | int(c.byte())) % n
	}
}

// between returns a number in [lo, hi].
func (c *choices) between(lo, hi int) int { return lo + c.intn(hi-lo+1) }

// oneIn is true with probability 1/n: for the rare edge values, so most inputs stay ordinary.
func (c *choices) oneIn(n int) bool { return c.intn(n) == 0 }

func (c *choices) bool() bool { return c.byte()&1 == 1 }

// count returns a list length: usually 1..typical, sometimes 0, one time in eight up to max (in
// big inputs, mostly typical..max), so the API's maxima are reached without making every input
// huge.
func (c *choices) count(typical, max int) int {
	if c.big && !c.oneIn(4) {
		return c.between(typical, max)
	}
	switch c.intn(8) {
	case 0:
		return c.between(0, max)
	case 1:
		return 0
	default:
		return c.between(1, typical)
	}
}

// pick returns one of options (the first once the bytes run out).
func pick[T any](c *choices, options ...T) T { return options[c.intn(len(options))] }

// maybe returns a pointer to v, or nil half of the time.
func maybe[T any](c *choices, v T) *T {
	if c.bool() {
		return nil
	}
	return &v
}
