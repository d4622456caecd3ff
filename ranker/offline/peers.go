package offline

// Peer is a published figure of another recommender on the amazon-grocery
// leave-last-out protocol (shared/data/README.md): test HR@10 / NDCG@10
// with full ranking, same split, tuned on validation only.
type Peer struct {
	Name     string
	HR, NDCG float64
}

// GroceryPeers returns the peers' figures of shared/data/README.md,
// strongest first. They are only comparable with a run on
// amazon-grocery/interactions.tsv at K = 10.
func GroceryPeers() []Peer {
	return []Peer{
		{"SASRec (full softmax)", 0.1103, 0.0629},
		{"implicit BM25 item-item", 0.0792, 0.0450},
		{"SASRec (sampled BCE)", 0.0789, 0.0416},
		{"implicit ALS (256)", 0.0756, 0.0419},
		{"implicit BPR", 0.0642, 0.0346},
		{"cosine item-item", 0.0570, 0.0321},
	}
}
