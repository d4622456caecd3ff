package experiment

import (
	"slices"
)

// Assignment is a user's arm in one experiment. Its strings and Params are
// shared with the Assigner: do not modify them.
type Assignment struct {
	Experiment string
	Arm        string
	Params     map[string]string
	id         int32 // index of the arm in the Assigner
}

// Assigner assigns users to arms. It is immutable and safe for concurrent
// use; the zero value and nil assign nobody.
type Assigner struct {
	cfg    Config
	layers []layer
	arms   []armRef // by Assignment.id
}

type layer struct {
	salt uint64
	exps []exp
}

type exp struct {
	name     string
	lo, hi   int // the layer buckets it owns, [lo, hi)
	salt     uint64
	surfaces []string
	off      bool
	cum      []int // cumulative arm weights in arm buckets
	arms     []int32
}

type armRef struct {
	experiment, arm string
	params          map[string]string
}

// New compiles a validated config.
func New(c Config) (*Assigner, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	a := &Assigner{cfg: c}
	for _, lc := range c.Layers {
		salt := lc.Salt
		if salt == "" {
			salt = lc.Name
		}
		l := layer{salt: hashString(0, "layer\x00"+salt)}
		lo := 0
		for _, ec := range lc.Experiments {
			e := exp{name: ec.Name, lo: lo, hi: lo + shareBuckets(ec.Share),
				salt: hashString(0, "experiment\x00"+ec.Name), surfaces: ec.Surfaces, off: ec.Off}
			lo = e.hi
			var total float64
			for _, ac := range ec.Arms {
				total += ac.Weight
			}
			var run float64
			for _, ac := range ec.Arms {
				run += ac.Weight
				e.cum = append(e.cum, int(run/total*Buckets+0.5))
				e.arms = append(e.arms, int32(len(a.arms)))
				a.arms = append(a.arms, armRef{experiment: ec.Name, arm: ac.Name, params: ac.Params})
			}
			e.cum[len(e.cum)-1] = Buckets
			l.exps = append(l.exps, e)
		}
		a.layers = append(a.layers, l)
	}
	return a, nil
}

// Config returns the config the Assigner was built from.
func (a *Assigner) Config() Config {
	if a == nil {
		return Config{}
	}
	return a.cfg
}

// Assign appends to dst[:0] the user's arm in each experiment that applies
// to surface ("" means every surface), in layer order, and returns it. It
// does not allocate when dst has room. The same user always gets the same
// arms for the same config; an empty user id gets none.
func (a *Assigner) Assign(userID, surface string, dst []Assignment) []Assignment {
	dst = dst[:0]
	if a == nil || userID == "" {
		return dst
	}
	uh := hashString(0x9e3779b97f4a7c15, userID)
	for i := range a.layers {
		l := &a.layers[i]
		b := bucket(l.salt, uh)
		for j := range l.exps {
			e := &l.exps[j]
			if b < e.lo || b >= e.hi {
				continue
			}
			if e.off || (surface != "" && len(e.surfaces) > 0 && !slices.Contains(e.surfaces, surface)) {
				break
			}
			ab := bucket(e.salt, uh)
			k := 0
			for k < len(e.cum)-1 && ab >= e.cum[k] {
				k++
			}
			r := &a.arms[e.arms[k]]
			dst = append(dst, Assignment{Experiment: r.experiment, Arm: r.arm, Params: r.params, id: e.arms[k]})
			break
		}
	}
	return dst
}

// Param returns the value of param key in the first assignment that sets it.
func Param(as []Assignment, key string) (string, bool) {
	for i := range as {
		if v, ok := as[i].Params[key]; ok {
			return v, true
		}
	}
	return "", false
}

// Map returns the assignments as experiment → arm, the form of the
// experiments field of responses and events; nil when there are none.
func Map(as []Assignment) map[string]string {
	if len(as) == 0 {
		return nil
	}
	m := make(map[string]string, len(as))
	for _, x := range as {
		m[x.Experiment] = x.Arm
	}
	return m
}

// bucket mixes a salt with a user hash into [0, Buckets).
func bucket(salt, uh uint64) int {
	return int(mix(salt^uh) % Buckets)
}

// hashString is FNV-1a 64 of s from seed h (0: the standard offset basis),
// finalised. It is stable across processes and releases: assignments must
// not change when a server restarts.
func hashString(h uint64, s string) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
