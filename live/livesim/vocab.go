package livesim

// categoryVocab is the default product universe: per category its items (with
// pinyin, which viewers also type into search), and a price range in fen.
type categoryVocab struct {
	name     string
	items    []string
	pinyin   []string
	minPrice int64
	maxPrice int64
}

var defaultCategories = []categoryVocab{
	{"女装", []string{"连衣裙", "衬衫", "半身裙", "针织衫", "西装外套"}, []string{"lianyiqun", "chenshan", "banshenqun", "zhenzhishan", "xizhuangwaitao"}, 4900, 59900},
	{"男装", []string{"T恤", "夹克", "卫衣", "牛仔裤", "休闲裤"}, []string{"txu", "jiake", "weiyi", "niuzaiku", "xiuxianku"}, 3900, 49900},
	{"美妆", []string{"口红", "面膜", "粉底液", "精华", "防晒霜"}, []string{"kouhong", "mianmo", "fendiye", "jinghua", "fangshaishuang"}, 2900, 89900},
	{"食品", []string{"坚果", "螺蛳粉", "牛肉干", "茶叶", "蜂蜜"}, []string{"jianguo", "luosifen", "niurougan", "chaye", "fengmi"}, 990, 19900},
	{"数码", []string{"蓝牙耳机", "充电宝", "手机壳", "智能手表", "平板"}, []string{"lanyaerji", "chongdianbao", "shoujike", "zhinengshoubiao", "pingban"}, 1990, 699900},
	{"母婴", []string{"纸尿裤", "奶粉", "婴儿车", "儿童玩具", "湿巾"}, []string{"zhiniaoku", "naifen", "yingerche", "ertongwanju", "shijin"}, 1990, 299900},
	{"家居", []string{"四件套", "收纳盒", "拖鞋", "抱枕", "保温杯"}, []string{"sijiantao", "shounahe", "tuoxie", "baozhen", "baowenbei"}, 990, 59900},
	{"珠宝", []string{"金手镯", "珍珠项链", "翡翠", "银耳钉", "钻戒"}, []string{"jinshouzhuo", "zhenzhuxianglian", "feicui", "yinerding", "zuanjie"}, 9900, 2999900},
	{"运动", []string{"瑜伽裤", "跑步鞋", "运动内衣", "跳绳", "速干衣"}, []string{"yujiaku", "paobuxie", "yundongneiyi", "tiaosheng", "suganyi"}, 1990, 89900},
	{"鞋靴", []string{"小白鞋", "老爹鞋", "马丁靴", "凉鞋", "帆布鞋"}, []string{"xiaobaixie", "laodiexie", "madingxue", "liangxie", "fanbuxie"}, 3900, 129900},
	{"生鲜", []string{"车厘子", "大闸蟹", "牛排", "榴莲", "海鲜礼盒"}, []string{"chelizi", "dazhaxie", "niupai", "liulian", "haixianlihe"}, 2900, 99900},
	{"宠物", []string{"猫粮", "狗粮", "猫砂", "宠物零食", "逗猫棒"}, []string{"maoliang", "gouliang", "maosha", "chongwulingshi", "doumaobang"}, 990, 39900},
}

// titleAdjectives prefix generated product titles.
var titleAdjectives = []string{"2025新款", "夏季", "法式", "显瘦", "高端", "网红同款", "加厚", "轻薄", "国货", "进口", "爆款", "限量", "大牌", "家用", "便携"}

// chatPhrases are 弹幕 as viewers type them; the first ones are the most frequent.
var chatPhrases = []string{
	"主播好", "来了来了", "已拍", "上链接", "666", "好看", "买了买了", "有优惠券吗",
	"包邮吗", "还有库存吗", "主播多高多重", "这个有几个颜色", "160斤能穿吗", "什么时候发货",
	"质量怎么样", "能便宜点吗", "家人们冲", "抢到了", "没抢到，能补货吗", "刚来，这是什么",
	"支持七天无理由吗", "怎么还不开价", "拍了两件", "主播声音好好听", "关注了", "返场返场",
	"已拍，求快点发货", "新人有福利吗", "等了好久终于开播了", "主播辛苦了", "晚上好", "太划算了",
	"小黄车点不开", "回放在哪看", "买过，质量不错", "求福袋", "什么时候抽奖", "主播穿的是几号",
}

// chatTemplates mention a product by its link number (N号链接).
var chatTemplates = []struct{ before, after string }{
	{"", "号链接多少钱"}, {"求讲解", "号"}, {"", "号还有吗"}, {"", "号什么颜色"}, {"", "号已拍"},
}

// giftValues are gift prices in fen with their relative frequencies.
var giftValues = []struct {
	fen    int64
	weight int
}{{10, 40}, {100, 25}, {660, 15}, {1990, 10}, {5200, 6}, {52000, 3}, {299900, 1}}
