package offline

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"gonum.org/v1/gonum/mat"
)

// InteractionMatrix is a user × item matrix of interaction weights in
// compressed sparse row (CSR) form, with the id maps. Row u holds user
// Users[u]; its entries are Indices[Indptr[u]:Indptr[u+1]] (item columns,
// ascending) with Values and Times (the latest interaction, Unix seconds)
// alongside. It implements gonum's mat.Matrix (At is a binary search; Dense
// materialises small matrices).
type InteractionMatrix struct {
	Kind    ItemKind
	Users   []string // row → user id, ascending
	Items   []string // column → item id, ascending
	Indptr  []int64  // len(Users)+1
	Indices []int32  // column of each entry
	Values  []float32
	Times   []int64 // Unix seconds of the latest interaction of each entry
}

var _ mat.Matrix = (*InteractionMatrix)(nil)

// Dims returns the number of users and items.
func (m *InteractionMatrix) Dims() (r, c int) { return len(m.Users), len(m.Items) }

// At returns the weight of user row i for item column j (0 if none).
func (m *InteractionMatrix) At(i, j int) float64 {
	lo, hi := m.Indptr[i], m.Indptr[i+1]
	k, ok := slices.BinarySearch(m.Indices[lo:hi], int32(j))
	if !ok {
		return 0
	}
	return float64(m.Values[lo+int64(k)])
}

// T returns the transpose (a view).
func (m *InteractionMatrix) T() mat.Matrix { return mat.Transpose{Matrix: m} }

// NNZ is the number of (user, item) pairs.
func (m *InteractionMatrix) NNZ() int { return len(m.Values) }

// Row returns the item columns, weights and times of user row u (shared;
// do not modify).
func (m *InteractionMatrix) Row(u int) (items []int32, weights []float32, times []int64) {
	lo, hi := m.Indptr[u], m.Indptr[u+1]
	return m.Indices[lo:hi], m.Values[lo:hi], m.Times[lo:hi]
}

// Dense materialises the matrix for gonum's dense routines. It refuses
// matrices over maxCells cells.
func (m *InteractionMatrix) Dense(maxCells int) (*mat.Dense, error) {
	r, c := m.Dims()
	if r == 0 || c == 0 {
		return nil, fmt.Errorf("offline: empty matrix (%d users, %d items)", r, c)
	}
	if r*c > maxCells {
		return nil, fmt.Errorf("offline: %d×%d matrix has more than %d cells; use the CSR arrays", r, c, maxCells)
	}
	d := mat.NewDense(r, c, nil)
	for u := range r {
		cols, vals, _ := m.Row(u)
		for k, j := range cols {
			d.Set(u, int(j), float64(vals[k]))
		}
	}
	return d, nil
}

// Matrix extracts q and builds its interaction matrix. It fails with
// ErrTooLittleData when the result has fewer users, items or pairs than the
// configured minimums.
func (x *Extractor) Matrix(ctx context.Context, q Query) (*InteractionMatrix, error) {
	m, err := FromBatches(q.Kind, x.Batches(ctx, q))
	if err != nil {
		return nil, err
	}
	users, items := m.Dims()
	if users < x.minUsers || items < x.minItems || m.NNZ() < x.minPairs {
		return m, fmt.Errorf("offline: %s received in [%s, %s): %d users, %d items, %d pairs; need at least %d, %d and %d: %w",
			q.Kind, q.From.UTC().Format("2006-01-02 15:04:05"), q.To.UTC().Format("2006-01-02 15:04:05"),
			users, items, m.NNZ(), x.minUsers, x.minItems, x.minPairs, ErrTooLittleData)
	}
	return m, nil
}

// FromBatches builds a matrix from record batches of Schema in any order;
// pairs that occur twice are summed (keeping the later time).
func FromBatches(kind ItemKind, batches iter.Seq2[arrow.Record, error]) (*InteractionMatrix, error) {
	userIdx, itemIdx := map[string]int32{}, map[string]int32{}
	m := &InteractionMatrix{Kind: kind}
	var rows, cols []int32
	var vals []float32
	var times []int64
	for rec, err := range batches {
		if err != nil {
			return nil, err
		}
		if !rec.Schema().Equal(Schema) {
			return nil, fmt.Errorf("offline: record schema %s is not the interactions schema", rec.Schema())
		}
		us := rec.Column(ColUser).(*array.String)
		is := rec.Column(ColItem).(*array.String)
		ts := rec.Column(ColTime).(*array.Timestamp)
		ws := rec.Column(ColWeight).(*array.Float32)
		for r := range int(rec.NumRows()) {
			u, ok := userIdx[us.Value(r)]
			if !ok {
				u = int32(len(m.Users))
				id := strings.Clone(us.Value(r)) // Value aliases the record's buffer
				m.Users = append(m.Users, id)
				userIdx[id] = u
			}
			i, ok := itemIdx[is.Value(r)]
			if !ok {
				i = int32(len(m.Items))
				id := strings.Clone(is.Value(r))
				m.Items = append(m.Items, id)
				itemIdx[id] = i
			}
			rows, cols = append(rows, u), append(cols, i)
			vals, times = append(vals, ws.Value(r)), append(times, int64(ts.Value(r))/1000)
		}
	}
	m.toCSR(rows, cols, vals, times)
	return m, nil
}

// ranks sorts ids ascending in place and returns old index → new index.
func ranks(ids []string) []int32 {
	order := make([]int32, len(ids))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(ids[a], ids[b]) })
	rank := make([]int32, len(order))
	sorted := make([]string, len(order))
	for n, old := range order {
		rank[old] = int32(n)
		sorted[n] = ids[old]
	}
	copy(ids, sorted)
	return rank
}

// toCSR numbers users and items in ascending id order and fills the CSR
// arrays from coordinates.
func (m *InteractionMatrix) toCSR(rows, cols []int32, vals []float32, times []int64) {
	urank, irank := ranks(m.Users), ranks(m.Items)
	m.Indptr = make([]int64, len(m.Users)+1)
	for _, r := range rows {
		m.Indptr[urank[r]+1]++
	}
	for u := range m.Users {
		m.Indptr[u+1] += m.Indptr[u]
	}
	n := len(rows)
	m.Indices, m.Values, m.Times = make([]int32, n), make([]float32, n), make([]int64, n)
	next := slices.Clone(m.Indptr[:len(m.Users)])
	for k, r := range rows {
		u := urank[r]
		p := next[u]
		next[u]++
		m.Indices[p], m.Values[p], m.Times[p] = irank[cols[k]], vals[k], times[k]
	}
	// Sort each row by column and merge duplicates; rows that come sorted
	// (the query orders by user, item) are only checked.
	type ent struct {
		c int32
		v float32
		t int64
	}
	var es []ent
	w := int64(0)
	for u := range m.Users {
		lo, hi := m.Indptr[u], m.Indptr[u+1]
		m.Indptr[u] = w
		sorted := true
		for p := lo + 1; p < hi; p++ {
			if m.Indices[p] <= m.Indices[p-1] {
				sorted = false
				break
			}
		}
		if sorted {
			copy(m.Indices[w:], m.Indices[lo:hi])
			copy(m.Values[w:], m.Values[lo:hi])
			copy(m.Times[w:], m.Times[lo:hi])
			w += hi - lo
			continue
		}
		es = es[:0]
		for p := lo; p < hi; p++ {
			es = append(es, ent{m.Indices[p], m.Values[p], m.Times[p]})
		}
		slices.SortStableFunc(es, func(a, b ent) int { return int(a.c - b.c) })
		for k, e := range es {
			if k > 0 && m.Indices[w-1] == e.c {
				m.Values[w-1] += e.v
				m.Times[w-1] = max(m.Times[w-1], e.t)
				continue
			}
			m.Indices[w], m.Values[w], m.Times[w] = e.c, e.v, e.t
			w++
		}
	}
	m.Indptr[len(m.Users)] = w
	m.Indices, m.Values, m.Times = m.Indices[:w], m.Values[:w], m.Times[:w]
}
