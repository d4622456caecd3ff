package main

var (
	womenBrands = []string{"优衣库/UNIQLO", "ZARA", "太平鸟", "伊芙丽", "欧时力", "拉夏贝尔", "无品牌", "无品牌"}
	menBrands   = []string{"优衣库/UNIQLO", "海澜之家", "杰克琼斯/JACK&JONES", "太平鸟", "李宁/LI-NING", "无品牌"}
	shoeBrands  = []string{"耐克/Nike", "阿迪达斯/Adidas", "李宁/LI-NING", "安踏/ANTA", "新百伦/New Balance", "斯凯奇/Skechers", "匡威/Converse", "回力"}
	skinBrands  = []string{"雅诗兰黛/Estee Lauder", "兰蔻/Lancome", "欧莱雅/L'Oreal", "珀莱雅", "自然堂", "薇诺娜", "资生堂/Shiseido", "SK-II"}
	makeBrands  = []string{"完美日记/Perfect Diary", "花西子", "迪奥/Dior", "圣罗兰/YSL", "阿玛尼/Armani", "魅可/MAC", "卡姿兰"}
	phoneBrands = []string{"苹果/Apple", "华为/HUAWEI", "小米/Xiaomi", "OPPO", "vivo", "荣耀/HONOR", "三星/Samsung"}
	snackBrands = []string{"三只松鼠", "良品铺子", "百草味", "无品牌"}
	babyBrands  = []string{"帮宝适/Pampers", "花王/Merries", "好奇/Huggies", "大王/GOO.N"}
	homeBrands  = []string{"水星家纺", "罗莱", "富安娜", "无印良品/MUJI", "无品牌"}
)

var leaves = []leaf{
	{"女装", "连衣裙", []string{"连衣裙", "连衣裙", "长裙", "裙子"}, womenBrands, [2]int{89, 699}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"收腰显瘦", "小个子", "气质", "高级感", "碎花"}},
	{"女装", "半身裙", []string{"半身裙", "百褶裙", "A字裙"}, womenBrands, [2]int{59, 399}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"高腰", "显瘦", "中长款"}},
	{"女装", "T恤", []string{"T恤", "短袖T恤", "短袖"}, womenBrands, [2]int{29, 199}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"宽松", "百搭", "印花", "圆领"}},
	{"女装", "衬衫", []string{"衬衫", "衬衣"}, womenBrands, [2]int{69, 399}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"长袖", "职业", "宽松"}},
	{"女装", "卫衣", []string{"卫衣", "连帽卫衣"}, womenBrands, [2]int{79, 329}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"加绒", "宽松", "oversize"}},
	{"女装", "牛仔裤", []string{"牛仔裤", "直筒牛仔裤"}, womenBrands, [2]int{79, 399}, nb(apparel(womenColors, sizesPants, womenStyle)), []string{"高腰", "显瘦", "九分"}},
	{"女装", "阔腿裤", []string{"阔腿裤", "垂感阔腿裤"}, womenBrands, [2]int{69, 299}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"高腰", "垂感", "拖地"}},
	{"女装", "羽绒服", []string{"羽绒服", "羽绒外套"}, []string{"波司登", "鸭鸭", "优衣库/UNIQLO", "太平鸟"}, [2]int{299, 1999}, nb(apparel(womenColors, sizesTop, womenStyle)), []string{"白鸭绒", "加厚", "短款", "长款"}},
	{"男装", "T恤", []string{"T恤", "短袖T恤", "短袖"}, menBrands, [2]int{39, 259}, nb(apparel(menColors, sizesTop, menStyle)), []string{"宽松", "纯色", "圆领", "冰丝"}},
	{"男装", "衬衫", []string{"衬衫", "衬衣"}, menBrands, [2]int{99, 499}, nb(apparel(menColors, sizesTop, menStyle)), []string{"免烫", "长袖", "修身"}},
	{"男装", "夹克", []string{"夹克", "外套", "夹克外套"}, menBrands, [2]int{199, 899}, nb(apparel(menColors, sizesTop, menStyle)), []string{"立领", "防风", "工装"}},
	{"男装", "休闲裤", []string{"休闲裤", "长裤"}, menBrands, [2]int{99, 399}, nb(apparel(menColors, sizesPants, menStyle)), []string{"直筒", "弹力", "冰丝"}},
	{"男装", "卫衣", []string{"卫衣", "连帽卫衣"}, menBrands, [2]int{99, 399}, nb(apparel(menColors, sizesTop, menStyle)), []string{"重磅", "宽松", "情侣"}},
	{"鞋靴", "运动鞋", []string{"运动鞋", "休闲运动鞋"}, shoeBrands, [2]int{199, 1299}, nb(shoes), []string{"气垫", "缓震", "百搭", "情侣"}},
	{"鞋靴", "跑步鞋", []string{"跑步鞋", "跑鞋", "慢跑鞋"}, shoeBrands, [2]int{299, 1499}, nb(shoes), []string{"竞速", "缓震", "马拉松", "碳板"}},
	{"鞋靴", "板鞋", []string{"板鞋", "小白鞋"}, shoeBrands, [2]int{159, 799}, nb(shoes), []string{"低帮", "经典", "百搭"}},
	{"鞋靴", "帆布鞋", []string{"帆布鞋"}, []string{"匡威/Converse", "回力", "飞跃", "无品牌"}, [2]int{59, 599}, nb(shoes), []string{"高帮", "低帮", "经典"}},
	{"鞋靴", "马丁靴", []string{"马丁靴", "短靴"}, []string{"百丽/Belle", "热风", "无品牌"}, [2]int{199, 899}, nb(shoes), []string{"英伦风", "厚底", "加绒"}},
	{"箱包", "双肩包", []string{"双肩包", "背包", "书包"}, []string{"小米/Xiaomi", "新秀丽/Samsonite", "无品牌"}, [2]int{79, 699}, nb(home([]string{"黑色", "灰色", "藏青色", "粉色"}, nil, []string{"尼龙", "帆布", "牛津布"})), []string{"大容量", "防泼水", "通勤"}},
	{"箱包", "行李箱", []string{"行李箱", "拉杆箱", "旅行箱"}, []string{"新秀丽/Samsonite", "小米/Xiaomi", "无品牌"}, [2]int{199, 1999}, nb(home([]string{"黑色", "银色", "粉色", "白色"}, []string{"20寸", "24寸", "28寸"}, []string{"PC", "铝框", "ABS"})), []string{"万向轮", "登机箱", "静音"}},
	{"美妆", "口红", []string{"口红", "唇膏"}, makeBrands, [2]int{59, 499}, nb(makeup), []string{"显白", "不沾杯", "持久", "小金条"}},
	{"美妆", "粉底液", []string{"粉底液"}, makeBrands, [2]int{99, 599}, nb(makeup), []string{"持妆", "遮瑕", "控油"}},
	{"美妆", "眼影", []string{"眼影", "眼影盘"}, makeBrands, [2]int{69, 599}, nb(makeup), []string{"大地色", "珠光", "九宫格"}},
	{"美妆", "香水", []string{"香水", "淡香水"}, []string{"迪奥/Dior", "香奈儿/Chanel", "祖玛珑/Jo Malone", "圣罗兰/YSL"}, [2]int{299, 1599}, nb(makeup), []string{"持久留香", "礼盒", "小样"}},
	{"护肤", "精华液", []string{"精华液", "精华"}, skinBrands, [2]int{199, 1599}, nb(skincare), []string{"小棕瓶", "神仙水", "修护", "抗初老"}},
	{"护肤", "面霜", []string{"面霜", "乳霜"}, skinBrands, [2]int{159, 1299}, nb(skincare), []string{"保湿", "滋润", "紧致"}},
	{"护肤", "面膜", []string{"面膜", "贴片面膜"}, skinBrands, [2]int{59, 399}, nb(skincare), []string{"补水", "熬夜", "玻尿酸"}},
	{"护肤", "防晒霜", []string{"防晒霜", "防晒乳"}, skinBrands, [2]int{69, 399}, nb(skincare), []string{"SPF50", "清爽", "隔离"}},
	{"护肤", "洗面奶", []string{"洗面奶", "洁面乳"}, skinBrands, [2]int{39, 299}, nb(skincare), []string{"氨基酸", "温和", "深层清洁"}},
	{"数码", "手机", []string{"手机", "智能手机", "5G手机"}, phoneBrands, [2]int{1299, 9999}, digital(phoneModels, storage), []string{"旗舰", "拍照", "游戏", "长续航"}},
	{"数码", "耳机", []string{"蓝牙耳机", "无线耳机", "耳机"}, []string{"苹果/Apple", "华为/HUAWEI", "小米/Xiaomi", "索尼/Sony", "漫步者/EDIFIER"}, [2]int{99, 1999}, digital(earphoneModels, earAttrs), []string{"降噪", "运动", "长续航"}},
	{"数码", "笔记本电脑", []string{"笔记本电脑", "笔记本", "轻薄本"}, []string{"苹果/Apple", "华为/HUAWEI", "联想/Lenovo", "小米/Xiaomi"}, [2]int{3999, 14999}, digital(laptopModels, laptopAttrs), []string{"轻薄", "办公", "游戏本", "高刷屏"}},
	{"数码", "平板电脑", []string{"平板电脑", "平板"}, []string{"苹果/Apple", "华为/HUAWEI", "小米/Xiaomi", "联想/Lenovo"}, [2]int{999, 7999}, digital(tabletModels, storage), []string{"学习", "网课", "护眼"}},
	{"数码", "智能手表", []string{"智能手表", "手表", "手环"}, []string{"苹果/Apple", "华为/HUAWEI", "小米/Xiaomi"}, [2]int{199, 5999}, digital(watchModels, plainColor), []string{"心率", "血氧", "运动", "NFC"}},
	{"数码", "充电宝", []string{"充电宝", "移动电源"}, []string{"小米/Xiaomi", "安克/Anker", "倍思/Baseus", "罗马仕/ROMOSS"}, [2]int{59, 399}, nb(func(r *rng) map[string]any {
		return map[string]any{"容量": r.pick([]string{"10000mAh", "20000mAh", "30000mAh"}), "功率": r.pick([]string{"22.5W", "65W", "100W"}), "颜色": r.some([]string{"黑色", "白色"}, 1, 2)}
	}), []string{"快充", "大容量", "自带线"}},
	{"家电", "吹风机", []string{"吹风机", "电吹风"}, []string{"戴森/Dyson", "飞利浦/Philips", "松下/Panasonic", "小米/Xiaomi"}, [2]int{99, 3299}, nb(home([]string{"紫红色", "白色", "黑色"}, nil, []string{"负离子", "高速"})), []string{"速干", "护发", "大功率"}},
	{"家电", "空气炸锅", []string{"空气炸锅"}, []string{"美的/Midea", "苏泊尔/SUPOR", "九阳/Joyoung", "小米/Xiaomi"}, [2]int{199, 799}, nb(home([]string{"白色", "黑色"}, []string{"4L", "5L", "6L"}, []string{"不粘涂层", "不锈钢"})), []string{"可视", "无油", "家用"}},
	{"家电", "扫地机器人", []string{"扫地机器人", "扫拖一体机"}, []string{"科沃斯/ECOVACS", "石头/Roborock", "追觅/Dreame", "小米/Xiaomi"}, [2]int{1299, 5999}, nb(home([]string{"白色", "黑色"}, nil, []string{"激光导航", "AI避障"})), []string{"自动集尘", "扫拖一体", "自清洁"}},
	{"家电", "电动牙刷", []string{"电动牙刷"}, []string{"飞利浦/Philips", "欧乐B/Oral-B", "小米/Xiaomi", "usmile"}, [2]int{99, 1299}, nb(home([]string{"白色", "粉色", "黑色", "蓝色"}, nil, []string{"声波", "旋转"})), []string{"声波", "情侣", "美白"}},
	{"食品", "坚果", []string{"坚果", "每日坚果", "混合坚果"}, snackBrands, [2]int{29, 199}, nb(food([]string{"500g", "750g", "1kg", "30袋"})), []string{"孕妇零食", "健康", "年货"}},
	{"食品", "牛肉干", []string{"牛肉干", "风干牛肉"}, []string{"科尔沁", "良品铺子", "三只松鼠", "无品牌"}, [2]int{39, 259}, nb(food([]string{"250g", "500g", "1kg"})), []string{"手撕", "内蒙古", "高蛋白"}},
	{"食品", "方便面", []string{"方便面", "泡面", "螺蛳粉"}, []string{"统一", "康师傅", "好欢螺", "李子柒"}, [2]int{19, 99}, nb(food([]string{"5袋", "12袋", "24桶"})), []string{"整箱", "宵夜", "速食"}},
	{"食品", "咖啡", []string{"咖啡", "速溶咖啡", "挂耳咖啡"}, []string{"雀巢/Nestle", "三顿半", "瑞幸/luckin", "隅田川"}, [2]int{29, 299}, nb(food([]string{"30条", "48杯", "500g"})), []string{"美式", "冷萃", "提神"}},
	{"食品", "牛奶", []string{"牛奶", "纯牛奶"}, []string{"伊利", "蒙牛", "特仑苏", "光明"}, [2]int{39, 129}, nb(food([]string{"250ml*12盒", "250ml*24盒"})), []string{"整箱", "早餐", "高钙"}},
	{"食品", "巧克力", []string{"巧克力"}, []string{"德芙/Dove", "费列罗/Ferrero", "好时/Hershey's"}, [2]int{29, 299}, nb(food([]string{"200g", "500g", "礼盒"})), []string{"黑巧", "送女友", "礼盒"}},
	{"母婴", "纸尿裤", []string{"纸尿裤", "尿不湿", "拉拉裤"}, babyBrands, [2]int{79, 299}, nb(func(r *rng) map[string]any {
		return map[string]any{"尺码": r.run([]string{"NB", "S", "M", "L", "XL", "XXL"}, 1, 3), "适用年龄": r.pick([]string{"0-6个月", "6-12个月", "1-3岁"})}
	}), []string{"超薄", "透气", "干爽"}},
	{"母婴", "奶粉", []string{"奶粉", "婴儿奶粉", "配方奶粉"}, []string{"飞鹤", "爱他美/Aptamil", "美赞臣/Mead Johnson", "惠氏/Wyeth"}, [2]int{199, 599}, nb(func(r *rng) map[string]any {
		return map[string]any{"段位": r.pick([]string{"1段", "2段", "3段"}), "净含量": r.pick([]string{"800g", "900g"}), "产地": r.pick([]string{"爱尔兰", "新西兰", "中国", "荷兰"})}
	}), []string{"婴幼儿", "营养", "易吸收"}},
	{"母婴", "婴儿车", []string{"婴儿车", "婴儿推车", "遛娃神器"}, []string{"好孩子/gb", "Babyzen", "宝宝好"}, [2]int{299, 3999}, nb(home([]string{"灰色", "米白色", "黑色"}, nil, []string{"铝合金", "碳钢"})), []string{"轻便折叠", "可坐可躺", "高景观"}},
	{"母婴", "奶瓶", []string{"奶瓶"}, []string{"贝亲/Pigeon", "可优比", "Hegen"}, [2]int{49, 299}, nb(home([]string{"透明", "粉色", "蓝色"}, []string{"160ml", "240ml"}, []string{"PPSU", "玻璃", "硅胶"})), []string{"防胀气", "宽口径", "新生儿"}},
	{"家居", "四件套", []string{"四件套", "床上四件套", "床品"}, homeBrands, [2]int{159, 1299}, nb(home([]string{"白色", "灰色", "浅蓝色", "粉色", "绿色"}, []string{"1.5m床", "1.8m床", "2.0m床"}, []string{"纯棉", "天丝", "磨毛", "真丝"})), []string{"全棉", "简约", "ins风"}},
	{"家居", "枕头", []string{"枕头", "枕芯"}, homeBrands, [2]int{49, 499}, nb(home([]string{"白色"}, nil, []string{"乳胶", "记忆棉", "荞麦", "羽绒"})), []string{"护颈", "助眠", "一对装"}},
	{"家居", "保温杯", []string{"保温杯", "保温壶"}, []string{"膳魔师/THERMOS", "象印/ZOJIRUSHI", "富光", "无品牌"}, [2]int{49, 399}, nb(home([]string{"黑色", "白色", "粉色", "蓝色"}, []string{"350ml", "500ml", "750ml"}, []string{"316不锈钢", "304不锈钢"})), []string{"大容量", "便携", "长效保温"}},
	{"家居", "抽纸", []string{"抽纸", "纸巾", "面巾纸"}, []string{"维达/Vinda", "清风", "心相印", "洁柔"}, [2]int{19, 89}, nb(home([]string{"原色", "白色"}, []string{"24包", "36包"}, []string{"原生木浆", "竹浆"})), []string{"家用", "整箱", "加厚"}},
}
