package tencent_test

import (
	"fmt"
	"time"

	"github.com/tide-live/tide/live/stream/tencent"
)

func ExampleProvider_PushURL() {
	p, err := tencent.New(tencent.Config{
		PushDomain: "push.example.com", PlayDomain: "play.example.com",
		PushKey: "e12c46f2612d5106e2034781ab261ca3", PlayKey: "playkey", CallbackKey: "cbkey",
	})
	if err != nil {
		panic(err)
	}
	push, _ := p.PushURL("test", time.Unix(0x5C271099, 0))
	fmt.Println(push)
	// Output: rtmp://push.example.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099
}
