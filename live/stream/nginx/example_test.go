package nginx_test

import (
	"fmt"
	"time"

	"github.com/tide-live/tide/live/stream/nginx"
)

func ExampleProvider_PullURLs() {
	p, err := nginx.New(nginx.Config{
		RTMPBase: "rtmp://127.0.0.1:19350/live", HTTPBase: "http://127.0.0.1:18088",
		PushKey: "push-key", PlayKey: "tide-dev-nginx-play-key",
	})
	if err != nil {
		panic(err)
	}
	pull, _ := p.PullURLs("room42", time.Unix(1700000000, 0))
	fmt.Println(pull.HLS)
	// Output: http://127.0.0.1:18088/hls/YAi7dxFlLk-Pcg7KWdtjkQ/1700000000/room42/index.m3u8
}
