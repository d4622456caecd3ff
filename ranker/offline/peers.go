package offline

// Peer is another recommender's published figure on amazon-grocery under
// this package's protocol (same split, full ranking, tuned on validation):
// test HR@10 and NDCG@10.
type Peer struct {
	Name     string
	HR, NDCG float64
}

// GroceryPeers are the peers' figures quoted in issue #12 from the shared
// data's README, strongest first. They compare only with a run on
// amazon-grocery/interactions.tsv at K = 10.
func GroceryPeers() []Peer {
	return []Peer{
		{Name: "SASRec (full softmax)", HR: 0.1103, NDCG: 0.0629},
		{Name: "implicit BM25 item-item", HR: 0.0792, NDCG: 0.0450},
		{Name: "SASRec (sampled BCE)", HR: 0.0789, NDCG: 0.0416},
		{Name: "implicit ALS", HR: 0.0756, NDCG: 0.0419},
		{Name: "implicit BPR", HR: 0.0642, NDCG: 0.0346},
	}
}
