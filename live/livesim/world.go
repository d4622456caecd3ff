package livesim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// dim is the size of the latent taste vectors of users and rooms.
const dim = 8

type category struct {
	name     string
	queries  []string // search queries typed by viewers interested in it
	products []int32
}

type merchant struct {
	id       string
	rooms    []int32
	products []int32
}

type product struct {
	id       string
	merchant int32
	cat      int32
	price    int64
	title    string
	catName  string // as given in the catalog, else the category's name
}

type room struct {
	id       string
	merchant int32
	cat      int32
	weight   uint64 // popularity, Zipf-like
	bias     float64
	vec      [dim]float32
	sched    schedule
	// current live session
	live    bool
	session string
	end     int64
	lineup  []int32
}

type user struct {
	id, device string
	vec        [dim]float32
	cats       [3]int32
	pref       [3]float32
	rest       float32 // preference of every category besides the favourites
	follows    []int32
	// session state
	active  bool
	state   uint8
	funnel  uint8
	room    int32
	aff     float64
	enterAt int64
	leaveAt int64
	session string
	req     string
	pos     int32
	prod    int32 // product in the purchase funnel
	qty     int64
	evs     int32 // viewer events of the current session
	roomMs  int64 // time in rooms of the current session
}

// build creates categories, merchants, products, rooms and users.
func (s *Sim) build() {
	if len(s.cfg.products) > 0 {
		s.buildFromCatalog()
	} else {
		s.buildUniverse()
	}
	s.prodByID = make(map[string]int32, len(s.products))
	for i, p := range s.products {
		s.prodByID[p.id] = int32(i)
		s.cats[p.cat].products = append(s.cats[p.cat].products, int32(i))
		s.merchants[p.merchant].products = append(s.merchants[p.merchant].products, int32(i))
	}
	s.buildRooms()
	s.buildUsers()
	s.linkChat = make([][]string, 31)
	for n := 1; n <= 30; n++ {
		for _, t := range chatTemplates {
			s.linkChat[n] = append(s.linkChat[n], t.before+strconv.Itoa(n)+t.after)
		}
	}
}

// buildUniverse generates merchants and products from the default vocabulary.
func (s *Sim) buildUniverse() {
	for _, c := range defaultCategories {
		q := append(append([]string(nil), c.items...), c.pinyin...)
		s.cats = append(s.cats, category{name: c.name, queries: q})
	}
	width := len(strconv.Itoa(s.cfg.merchants))
	for m := range s.cfg.merchants {
		s.merchants = append(s.merchants, merchant{id: fmt.Sprintf("m%0*d", width, m+1)})
		main := s.rng.IntN(len(s.cats))
		n := 8 + s.rng.IntN(33)
		for range n {
			c := main
			if s.chance(0.25) {
				c = s.rng.IntN(len(s.cats))
			}
			v := defaultCategories[c]
			span := math.Log(float64(v.maxPrice) / float64(v.minPrice))
			price := int64(float64(v.minPrice) * math.Exp(s.rng.Float64()*span))
			price = max(price/100*100-10, 90) // x.90 yuan, as shops price
			title := titleAdjectives[s.rng.IntN(len(titleAdjectives))] + v.items[s.rng.IntN(len(v.items))]
			s.products = append(s.products, product{
				id: fmt.Sprintf("p%06d", len(s.products)+1), merchant: int32(m), cat: int32(c), price: price, title: title, catName: v.name,
			})
		}
	}
}

// buildFromCatalog takes merchants, categories and products from WithProducts.
// Tastes are per top-level category ("女装" of "女装/连衣裙"); the leaf
// categories and product titles become search queries.
func (s *Sim) buildFromCatalog() {
	catIdx := map[string]int32{}
	merIdx := map[string]int32{}
	extra := map[int32][]string{}
	for _, p := range s.cfg.products {
		top, leaf, _ := strings.Cut(p.Category, "/")
		c, ok := catIdx[top]
		if !ok {
			c = int32(len(s.cats))
			catIdx[top] = c
			s.cats = append(s.cats, category{name: top})
		}
		m, ok := merIdx[p.MerchantID]
		if !ok {
			m = int32(len(s.merchants))
			merIdx[p.MerchantID] = m
			s.merchants = append(s.merchants, merchant{id: p.MerchantID})
		}
		s.products = append(s.products, product{id: p.ID, merchant: m, cat: c, price: max(p.PriceFen, 1),
			title: p.Title, catName: p.Category})
		if leaf != "" && !slices.Contains(extra[c], leaf) {
			extra[c] = append(extra[c], leaf, leaf) // leaves are the commonest queries
		}
		if t := []rune(p.Title); len(t) > 0 && len(extra[c]) < 200 {
			if len(t) > 8 {
				t = t[len(t)-4:] // a title's tail usually names the item
			}
			extra[c] = append(extra[c], string(t))
		}
	}
	for i := range s.cats {
		c := &s.cats[i]
		for _, v := range defaultCategories {
			if v.name == c.name {
				c.queries = append(append(c.queries, v.items...), v.pinyin...)
			}
		}
		c.queries = append(c.queries, extra[int32(i)]...)
		if c.name != "" {
			c.queries = append(c.queries, c.name)
		}
		if len(c.queries) == 0 {
			c.queries = []string{"直播好物"}
		}
	}
}

// buildRooms gives each merchant one to three anchors, each with a room.
func (s *Sim) buildRooms() {
	s.roomByID = map[string]int32{}
	for m := range s.merchants {
		mer := &s.merchants[m]
		counts := make([]int, len(s.cats))
		for _, p := range mer.products {
			counts[s.products[p].cat]++
		}
		main := int32(0)
		if len(mer.products) > 0 {
			main = int32(slices.Index(counts, slices.Max(counts)))
		}
		n := 1
		if x := s.rng.Float64(); x < 0.1 {
			n = 3
		} else if x < 0.4 {
			n = 2
		}
		for k := range n {
			r := room{id: "room-" + mer.id + "-" + strconv.Itoa(k+1), merchant: int32(m), cat: main}
			if k > 0 && s.chance(0.3) {
				r.cat = int32(s.rng.IntN(len(s.cats)))
			}
			for d := range dim {
				r.vec[d] = float32(s.rng.NormFloat64() * 0.5)
			}
			r.sched = s.newSchedule(len(s.rooms))
			s.roomByID[r.id] = int32(len(s.rooms))
			mer.rooms = append(mer.rooms, int32(len(s.rooms)))
			s.rooms = append(s.rooms, r)
		}
	}
	// Zipf-like popularity over a random order of rooms.
	order := s.rng.Perm(len(s.rooms))
	var mean float64
	ws := make([]float64, len(s.rooms))
	for rank, i := range order {
		ws[i] = 1 / math.Pow(float64(rank+1), 0.9)
		mean += ws[i]
	}
	mean /= float64(len(ws))
	for i := range s.rooms {
		s.rooms[i].weight = uint64(ws[i]*1e6) + 1
		s.rooms[i].bias = max(-1, min(1.5, 0.5*math.Log(ws[i]/mean)))
	}
	s.liveAll = newFenwick(len(s.rooms))
	s.liveByCat = make([]fenwick, len(s.cats))
	for c := range s.liveByCat {
		s.liveByCat[c] = newFenwick(len(s.rooms))
	}
}

// buildUsers draws every user's tastes and Zipf-like activity.
func (s *Sim) buildUsers() {
	n := s.cfg.users
	width := len(strconv.Itoa(n))
	s.users = make([]user, n)
	s.userByID = make(map[string]int32, n)
	nc := len(s.cats)
	for i := range s.users {
		u := &s.users[i]
		u.id = UserIDPrefix + fmt.Sprintf("%0*d", width, i+1)
		u.device = "dev-" + strconv.FormatUint(mix(s.salt^uint64(i)), 36)
		u.room = -1
		s.userByID[u.id] = int32(i)
		for d := range dim {
			u.vec[d] = float32(s.rng.NormFloat64() * 0.5)
		}
		// Dirichlet-ish: 1–3 favourite categories take most of the mass.
		total := float32(0.15)
		for k := range 3 {
			u.cats[k] = int32(s.rng.IntN(nc))
			if k == 0 || s.chance(0.5) {
				u.pref[k] = float32(s.rng.ExpFloat64())
				total += u.pref[k]
			}
		}
		for k := range 3 {
			u.pref[k] /= total
		}
		u.rest = 0.15 / total / float32(nc)
	}
	order := s.rng.Perm(n)
	ws := make([]float64, n)
	for rank, i := range order {
		ws[i] = 1 / math.Pow(float64(rank+1), 0.7)
	}
	s.userCum = make([]float64, n)
	var c float64
	for i, w := range ws {
		c += w
		s.userCum[i] = c
	}
}

// catPref is how much user u likes category c (sums to 1 over categories).
func (u *user) catPref(c int32) float64 {
	p := u.rest
	for k := range 3 {
		if u.cats[k] == c {
			p += u.pref[k]
		}
	}
	return float64(p)
}

// sampleCat draws a category from u's preferences.
func (s *Sim) sampleCat(u *user) int32 {
	x := s.rng.Float32()
	for k := range 3 {
		if x < u.pref[k] {
			return u.cats[k]
		}
		x -= u.pref[k]
	}
	return int32(s.rng.IntN(len(s.cats)))
}

// affinity is the latent probability-like taste of user u for room r.
func (s *Sim) affinity(u *user, r int32) float64 {
	rm := &s.rooms[r]
	var dot float32
	for d := range dim {
		dot += u.vec[d] * rm.vec[d]
	}
	return sigmoid(-2 + 3*u.catPref(rm.cat) + 1.5*float64(dot) + rm.bias)
}

// pickUser draws a user by activity.
func (s *Sim) pickUser() int32 {
	x := s.rng.Float64() * s.userCum[len(s.userCum)-1]
	lo, hi := 0, len(s.userCum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if s.userCum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return int32(lo)
}

// fenwick is a binary indexed tree of integer weights for sampling.
type fenwick struct {
	t     []uint64
	total uint64
}

func newFenwick(n int) fenwick { return fenwick{t: make([]uint64, n+1)} }

func (f *fenwick) add(i int, w uint64, neg bool) {
	if neg {
		f.total -= w
	} else {
		f.total += w
	}
	for i++; i < len(f.t); i += i & -i {
		if neg {
			f.t[i] -= w
		} else {
			f.t[i] += w
		}
	}
}

// sample returns an index drawn by weight; the tree must not be empty.
func (f *fenwick) sample(x uint64) int {
	pos := 0
	step := 1
	for step*2 < len(f.t) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if n := pos + step; n < len(f.t) && f.t[n] <= x {
			pos = n
			x -= f.t[n]
		}
	}
	return pos
}
