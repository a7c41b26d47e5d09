"""Japanese edition of :data:`lecture_lib.grade.help.HELP`, used by ``hint()`` and ``solution()`` in the Japanese
notebooks; the keys and the structure are identical to the English ones."""

from __future__ import annotations

from types import MappingProxyType

from .help import Help

__all__ = ["HELP_JA"]

HELP_JA = MappingProxyType({
    # ------------------------------------------------------------------------------------------- Part A
    "A1": Help(
        "テンソル全体で1つのスケールを使います。最大の |w| が最大のコード 7 に対応しなければなりません。",
        "s = max|w| / 7（w がすべて 0 なら 1.0 を使う）。q = clamp(round(w / s), -7, 7)。",
        "w = torch.as_tensor(w, dtype=torch.float32); scale = float(w.abs().max()) / 7 ...; "
        "codes = torch.clamp(torch.round(w / scale), -7, 7).to(torch.int8)",
        "スケールは max|w| をコード 7 に写します。torch.round は偶数への丸め（ちょうど半分は偶数へ）です。"
        "すべて 0 のテンソルのスケールは 1 です。",
    ),
    "A2": Help(
        "逆量子化は割り算を元に戻す操作です。各コードにスケールを掛けます。",
        "w_hat = codes * s（float32 で）。MAE = 全要素にわたる |w - w_hat| の平均（和でも二乗でもありません）。",
        "torch.as_tensor(codes).to(torch.float32) * scale; float((w - w_hat).abs().mean())",
        "コードにスケールを掛けるとグリッド上の値になります。"
        "平均絶対誤差は |w - w_hat| を n 個の要素で平均したものです。",
    ),
    "A3": Help(
        "行ごとに独自のスケールとゼロ点を持たせます。0 を正確に表せるよう、範囲は 0 を含まなければなりません。",
        "lo = min(行の最小値, 0)、hi = max(行の最大値, 0)、s = (hi - lo) / 255、z = round(-lo / s)、"
        "q = clamp(round(w / s) + z, 0, 255)。",
        "lo = w.amin(dim=1).clamp(max=0); hi = w.amax(dim=1).clamp(min=0); scale = (hi - lo) / 255（0 のところは 1）; "
        "zero_point = torch.round(-lo / scale); codes = round(w / scale[:, None]) + zero_point[:, None]",
        "[min, max] を 0 を含むように広げると、w = 0 はちょうどゼロ点に写ります。"
        "行ごとのスケールは各チャネルの範囲に合わせられます。",
    ),
    "A4": Help(
        "2つのコードで1バイトを共有します。1つ目は下位4ビット、2つ目は上位4ビットに入ります。",
        "byte_i = (c[2i] & 0xF) | ((c[2i+1] & 0xF) << 4)。個数が奇数なら 0 を1つ補います。"
        "展開：low = b & 0xF、high = b >> 4 とし、値 >= 8 は負の数です（16 を引きます）。",
        "c = c.to(torch.int16); nib = (c & 0xF).reshape(-1, 2); (nib[:, 0] | (nib[:, 1] << 4)).to(torch.uint8); "
        "展開は torch.stack([p & 0xF, p >> 4], dim=1).reshape(-1)[:n] で",
        "& 0xF はコードの4ビットの2の補数表現を残します。展開ではニブルの並びを元に戻し、符号拡張します。",
    ),
    "A5": Help(
        "バイトを符号1ビット、指数4ビット、仮数3ビットに分け、式に当てはめます。",
        "s = code >> 7、e = (code >> 3) & 0xF、m = code & 7。"
        "e = 0 なら (-1)^s 2^-6 m/8、それ以外は (-1)^s 2^(e-7) (1 + m/8)。NaN になるのは 0x7F と 0xFF だけです。",
        "if e == 0xF and m == 7: return nan; if e == 0: return sign * 2.0**-6 * (m / 8); "
        "return sign * 2.0**(e - 7) * (1 + m / 8)",
        "E4M3FN はバイアス 7 で、e = 0 が非正規化数、無限大はありません。"
        "最上位の指数も正規化数を表し、最大 448 までです。",
    ),
    "A6": Help(
        "キャッシュされるのは KV ヘッドだけです。各層がキーとバリューの両方をキャッシュします。",
        "トークンあたりのバイト数 = 2 * layers * n_kv_heads * head_dim * bytes_per_value（n_heads は現れません）。",
        "return 2 * layers * n_kv_heads * head_dim * bytes_per_value",
        "層ごと・KV ヘッドごとに K と V（これが 2）。"
        "グループ化クエリアテンションでは、複数のクエリヘッドが KV ヘッドを共有します。",
    ),
    "A7": Help(
        "順伝播：疑似量子化した値。逆伝播：round() を恒等写像とみなしますが、clamp の勾配 0 はそのまま残します。",
        "r = round(x / s)、inside = qmin <= r <= qmax。"
        "順伝播は clamp(r, qmin, qmax) * s、勾配は範囲内で 1、範囲外で 0。",
        "inside = ((r >= qmin) & (r <= qmax)).to(x.dtype); q = torch.clamp(r, qmin, qmax) * scale; "
        "return x * inside + (q - x * inside).detach()",
        "detach トリックにより、順伝播の値は q になり、勾配は x * inside だけを通って流れます（クリップ付き STE）。",
    ),
    # ------------------------------------------------------------------------------------------- Part B
    "B1": Help(
        "まずロジットを T で割ります。softmax は最後の次元（クラス）について正規化します。",
        "p = exp(z/T - max(z/T)) / sum(exp(z/T - max(z/T)))、dim=-1 に沿って計算します。"
        "最大値を引くと exp が有限に保たれます。",
        "z = torch.as_tensor(logits, dtype=torch.float64) / T; e = torch.exp(z - z.amax(dim=-1, keepdim=True)); "
        "return e / e.sum(dim=-1, keepdim=True)",
        "クラスにわたる z/T のソフトマックスです。安定性のために行の最大値を引きます（結果は変わりません）。",
    ),
    "B2": Help(
        "2つの項からなります。温度 T で生徒を教師と比べるソフト項と、ラベルとの通常の交差エントロピーです。",
        "L = alpha * T**2 * KL(p_teacher(T) || p_student(T)) + (1 - alpha) * CE(z_S, y)。"
        "KL はクラスについて和をとり、N 個の位置について平均します（F.kl_div の reduction='batchmean' で、"
        "デフォルトの 'mean' ではありません）。",
        "log_ps = torch.log_softmax(student_logits / T, dim=-1); "
        "log_pt = torch.log_softmax(teacher_logits.detach() / T, dim=-1); "
        "kl = (log_pt.exp() * (log_pt - log_ps)).sum(dim=-1).mean(); ce = F.cross_entropy(student_logits, labels)",
        "温度 T での KL(teacher || student) をクラスについて和をとって位置について平均し、T**2 を掛けます。"
        "こうすると T を大きくしてもソフト項の勾配の大きさが保たれます。CE には生徒の生のロジットを使います。",
    ),
    "B3": Help(
        "ターゲットが、ドラフトの与えた確率より大きな確率を求めるトークンだけを残します。",
        "r = max(0, p - q)。r / sum(r) を返し、sum(r) == 0 のときは p そのものを返します。",
        "r = (p - q).clamp(min=0); total = r.sum(); return r / total if float(total) > 0 else p",
        "棄却は q が過剰に提案するところで起こるので、置き換えのトークンは p が q を上回るところから、"
        "正規化し直して引きます。",
    ),
    "B4": Help(
        "ドラフトトークンを順にたどり、最初の棄却で止めます。"
        "どのステップでも、ターゲット自身のトークンをちょうど1つ出力します。",
        "u[i] < p[i, x_i] / q[i, x_i] のとき、かつそのときに限り x_i を受理します。"
        "棄却したら行 i の残差分布から、k 個すべて受理したら p[k] から引きます。"
        "引く値 = 累積確率 > v となる最初のインデックス。",
        "for i, x in enumerate(draft_tokens): if u[i] < p[i, x] / q[i, x]: out.append(int(x)); continue; "
        "dist = residual(行 i); break ... else dist = p[k]; "
        "out.append(int(torch.searchsorted(torch.cumsum(dist, 0), v, right=True)))",
        "受理してから補正する方式で、ターゲットの分布が厳密に保たれます。"
        "追加の1トークンは補正トークンかボーナストークンです。",
    ),
    "B5": Help(
        "受理されたプレフィックスと、ターゲットが自分で追加する1トークンを数えます。",
        "E[tokens] = 1 + alpha + alpha**2 + ... + alpha**k = (1 - alpha**(k+1)) / (1 - alpha)。alpha = 1 では k + 1。",
        "if alpha == 1: return float(k + 1); return (1 - alpha ** (k + 1)) / (1 - alpha)",
        "等比級数の和です。i 番目のドラフトトークンは確率 alpha**i で生き残り、ターゲットは常に1つ追加します。",
    ),
    "B6": Help(
        "高速化率 = 1ステップあたりのトークン数 ÷ 1ステップのコスト（ターゲット呼び出しの回数で測ります）。",
        "tokens = (1 - alpha**(k+1)) / (1 - alpha)（alpha = 1 では k + 1）。"
        "1ステップのコストはターゲット呼び出し k * c + 1 回分です。",
        "tokens = float(k + 1) if alpha == 1 else (1 - alpha ** (k + 1)) / (1 - alpha); return tokens / (k * c + 1)",
        "通常のデコーディングはターゲット呼び出し1回で1トークンを生成します。"
        "投機的デコーディングの1ステップは、k 回のドラフトと 1 回のターゲットで E[tokens] 個を生成します。",
    ),
    "B7": Help(
        "q から引いた x について、受理確率 min(1, p(x)/q(x)) を平均します。",
        "sum_x q(x) min(1, p(x)/q(x)) = sum_x min(p(x), q(x)) = 1 - TV(p, q)、TV = L1 距離の半分。",
        "return float(torch.minimum(torch.as_tensor(p), torch.as_tensor(q)).sum())",
        "2つの分布の重なりが受理率です。つまり 1 から両者の全変動距離を引いたものです。",
    ),
    # ------------------------------------------------------------------------------------------- Part C
    "C1": Help(
        "エラーバジェットは、期間全体のうち失敗が許される割合を分単位で表したものです。",
        "(1 - slo) * days * 24 * 60。"
        "0 < slo < 1 でなければ ValueError を送出します（99.9 はパーセントであり、割合ではありません）。",
        "if not 0 < slo < 1: raise ValueError(...); return (1 - slo) * days * 24 * 60",
        "期間のうち 1 - SLO の割合までは失敗してよいということです。30 日で 99.9 % なら 43.2 分が許されます。",
    ),
    "C2": Help(
        "バーンレート = エラーが「ちょうどバジェットどおり」の何倍の速さで発生しているか。",
        "burn = error_rate / (1 - slo)。"
        "'fast burn' は >= 14.4、'medium burn' は >= 6、"
        "'slow burn' は >= 1 で発火します（しきい値に達したものはすべて発火）。",
        "burn = burn_rate(error_rate, slo); "
        "return [name for name, t in {'fast burn': 14.4, 'medium burn': 6.0, 'slow burn': 1.0}.items() if burn >= t]",
        "エラー率が一定なら両方のウィンドウで同じバーンレートになるので、しきい値に達したアラートはすべて発火します。",
    ),
    "C3": Help(
        "順位 q * total を含むバケットを見つけ、その中で線形補間します。",
        "rank = q * total。j = 累積カウントが >= rank となる最初のバケット。"
        "+Inf バケットなら有限の上限のうち最大のもの、"
        "そうでなければ lower + (upper - lower) * (rank - c_prev) / (c_j - c_prev)。最初のバケットの下端は 0。",
        "j = next(i for i, c in enumerate(cumulative_counts) if c >= rank); lower = upper_bounds[j-1] if j else 0.0; "
        "below = cumulative_counts[j-1] if j else 0.0",
        "Prometheus は観測値がバケット内に均等に分布していると仮定し、最後の有限の上限より先は見えません。",
    ),
    "C4": Help(
        "Little の法則は3つの平均を結びつけます：L = lambda * W。",
        "W = in_flight / arrival_rate。M/M/1：rho = lambda / mu、L = rho / (1 - rho)。"
        "rho >= 1 なら ValueError を送出します。",
        "return in_flight / arrival_rate; rho = arrival_rate / service_rate; if rho >= 1: raise ValueError(...); "
        "return rho / (1 - rho)",
        "Little の法則は安定なシステムならどれでも成り立ちます。"
        "M/M/1 の系内件数は rho が 1 に近づくと爆発的に増えます。",
    ),
    "C5": Help(
        "独立な n 個のケースがすべてバグを見逃す確率は (1 - p)**n です。",
        "(1 - p)**n <= delta を満たす最小の整数 n：n = ceil(log(delta) / log(1 - p))。",
        "return math.ceil(math.log(delta) / math.log1p(-p))",
        "(1 - p)**n <= delta を n について解き、切り上げます（log1p を使うと小さな p でも精度が保たれます）。",
    ),
    "C6": Help(
        "平均の差を、両方の標本からプールした標準偏差で割ります。",
        "s_p**2 = ((n1-1) s1**2 + (n2-1) s2**2) / (n1 + n2 - 2)、分散は ddof=1。d = (mean x - mean y) / s_p。"
        "|d| によるラベル：< 0.2 negligible、< 0.5 small、< 0.8 medium、それ以外は large。",
        "sp2 = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2); "
        "return float((x.mean() - y.mean()) / math.sqrt(sp2))",
        "Cohen の d は、平均の差をプールした標準偏差を単位として測ります。符号はどちらの標本が大きいかを表します。",
    ),
    # ------------------------------------------------------------------------------------------- Part D
    "D1": Help(
        "リクエストをワーカーに順番に送り、一巡したらワーカー 0 から再び始めます。",
        "リクエスト k（0 から数える）はワーカー k mod n_workers に送ります。",
        "return [k % n_workers for k in range(n)]",
        "ラウンドロビンは、ワーカーの速度に関係なくワーカーを順に巡回します。",
    ),
    "D2": Help(
        "選ぶたびに、すべての現在の重みをそれぞれの重みだけ増やし、選ばれたワーカーの値を合計だけ減らします。",
        "new = current + weights。chosen = argmax(new)、同点ならインデックスが最小のもの。"
        "new[chosen] -= sum(weights)。",
        "new = [c + w for c, w in zip(current, weights)]; best = 最初の最大値のインデックス; "
        "new[best] -= sum(weights); return best, new",
        "選ばれたワーカーから合計を引くことで、重いワーカーへの割り当てが連続せず、なめらかに分散されます。",
    ),
    "D3": Help(
        "処理中のリクエストが最も少ないワーカーを選びます。",
        "connections の argmin。同点ならインデックスが最小のもの。",
        "return connections.index(min(connections))",
        "list.index は最小値が最初に現れる位置を返すので、それがそのまま同点時のルールになります。",
    ),
    "D4": Help(
        "新しいサンプルに重み alpha を、これまでの推定値に残りの重みを与えます。",
        "EWMA_t = alpha * sample + (1 - alpha) * previous。",
        "return alpha * sample + (1 - alpha) * previous",
        "alpha が小さいほど長く記憶します。"
        "alpha = 0.1 なら、100 ms の推定値は 500 ms のサンプルに向かって 40 ms 動きます。",
    ),
    "D5": Help(
        "3つの状態を別々に扱います。オープン状態のブレーカーは結果を無視します。",
        "closed：結果を追加して最新の window_size 個を残し、"
        "minimum_calls 以上かつ rate >= threshold ならオープン（ウィンドウは空に）。"
        "half_open：permitted_calls 個の結果を集めてから、オープンかクローズにします（ウィンドウは空に）。",
        "if state == 'open': return state, window; window = window + (failed,); "
        "closed の場合: window = window[-window_size:] ...; "
        "half_open の場合: if len(window) < permitted: return 'half_open', window",
        "ブレーカーは十分な数の呼び出しがあるときだけ失敗率で判断し、"
        "ハーフオープンでは決まった回数の試行で判定します。",
    ),
    "D6": Help(
        "n 回目のリトライ前の待ち時間は、0 から、指数的に増えて上限で頭打ちになる値までの一様分布です。",
        "t_n = min(cap, base * 2**n)。"
        "delay_n = rng.uniform(0, t_n)、リトライごとに1回引きます（n = 0 .. attempts-1）。",
        "return [float(rng.uniform(0.0, min(cap, base * 2 ** n))) for n in range(attempts)]",
        "フルジッターはリトライをウィンドウ全体に散らすので、"
        "同時に失敗したクライアントが同時にリトライすることはありません。",
    ),
    # ------------------------------------------------------------------------------------------- Part E
    "E1": Help(
        "まず最も近い fp16 の値に丸め、得られた値を分類します。",
        "|x| 付近の fp16 の間隔 = 2**(max(e - 1, -14) - 10)、ただし x = f 2**e、0.5 <= f < 1。"
        "|x| をその倍数に丸め（同点は偶数へ）、> 65504 -> inf、0 -> zero、< 2**-14 -> subnormal、それ以外は normal。",
        "_, e2 = math.frexp(ax); spacing = 2.0 ** (max(e2 - 1, -14) - 10); r = round(ax / spacing) * spacing",
        "問題になるのは丸めた後の値の分類です。ごく小さな値は 0 に、65504 をわずかに超える値は inf に丸められます。",
    ),
    "E2": Help(
        "オーバーフローしたらスケールを下げてカウントをリセットし、問題のないステップではカウントを増やして、"
        "ときどきスケールを大きくします。",
        "found_inf なら (scale * backoff_factor, 0)。"
        "そうでなければ tracker + 1 とし、growth_interval に達したら (scale * growth_factor, 0)。"
        "ただし float32 の最大値を超える場合は除きます（そのときはスケールを据え置き）。",
        "if found_inf: return scale * backoff_factor, 0; growth_tracker += 1; "
        "if growth_tracker == growth_interval: ...",
        "GradScaler のルールです。"
        "オーバーフローしたらすぐに縮小し、問題のないステップが growth_interval 回続いたときだけ拡大します。",
    ),
    "E3": Help(
        "k 個のセグメントでは、k 個のセグメント入力を保持し、一度に1つのセグメントを再計算します。",
        "k = 0：outside + n * M。"
        "それ以外：outside + k * c + ceil(n / k) * M - c（再計算するセグメント自身の入力はすでに保持されています）。",
        "if k == 0: return outside_bytes + n_layers * block_bytes; "
        "return outside_bytes + k * input_bytes + math.ceil(n_layers / k) * block_bytes - input_bytes",
        "メモリは保持した入力と、再計算する最大のセグメントの和です。k を sqrt(n) 付近にすると両者がつり合います。",
    ),
    "E4": Help(
        "1ステップでシーケンスごとに1トークンを生成し、コストは a + b * B 秒です。",
        "スループット = B / (a + b B)。",
        "return batch_size / (a + b * batch_size)",
        "バッチ処理は固定コスト a を償却します。スループットは 1 / b で頭打ちになります。",
    ),
    "E5": Help(
        "ここでも Little の法則 L = lambda * W を、両方向に使います。",
        "L = arrival_rate * mean_latency。"
        "すべてのスロットが埋まっていれば L = slots なので、lambda_max = slots / mean_latency。",
        "return arrival_rate * mean_latency; return slots / mean_latency",
        "系内の件数は到着率と滞在時間の積です。処理能力はスロット数を1リクエストあたりの時間で割ったものです。",
    ),
    "E6": Help(
        "バッチサイズにかかわらず、各ステップですべての重みを1回読み込みます。",
        "1秒あたりのステップ数 = bandwidth / (n_params * bytes_per_param)。"
        "1秒あたりのトークン数 = batch_size * (その値)。",
        "return batch_size * bandwidth / (n_params * bytes_per_param)",
        "デコーディングは帯域幅律速です。"
        "100 GB/s で 7B の fp16 モデルはステップごとに 14 GB を読むので、1秒あたり約 7 ステップです。",
    ),
    # ---------------------------------------------------------------------------------------- チャレンジ
    "A-challenge": Help(
        "3ビットではレベルが8つしかありません。各グループの実際の範囲にすべてのレベルを使い、ある列の丸め誤差は"
        "まだ量子化していない列で補正しましょう。",
        "入力列128個ずつのグループにします（3 + 32/128 = 3.25ビット）。グループごとに lo = min(w, 0)、hi = max(w, 0)、"
        "s = (hi - lo) / 7、z = round(-lo / s)、code = clamp(round(w / s) + z, 0, 7)。そのうえでGPTQ：訓練テキストでの"
        "各層の入力から H = X^T X を作り（lecture_lib.experiments.partA.calibration_inputs）、列 i を丸めたら"
        "後ろの列 j から err_i * U[i, j] / U[i, i] を引きます（U は H^-1 の上三角コレスキー因子）。",
        "calib = calibration_inputs(model, 32); 各Linearについて: h = gptq.hessian(calib[name]) + 減衰項; u = "
        "torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True); 各列 i について: "
        "i % 128 == 0 で新しいグリッド; q = clamp(round(w[:, i] / s) + z, 0, 7); w[:, i+1:] -= ((w[:, i] - s*(q - z)) / "
        "u[i, i])[:, None] * u[i, i+1:]",
        "非対称のグリッドは8つのレベルをすべて使います。対称のグリッドは1レベルを無駄にし、グループに不要かもしれない"
        "符号のために範囲の半分を使います。さらにGPTQは各重み自身の誤差ではなく、実際の入力での層の出力誤差を最小に"
        "するので、パープレキシティの悪化がおよそ半分になります。",
    ),
    "B-challenge": Help(
        "教師は訓練データに似た文章を書きます。まれにしか繰り返さないコンテキストからのコピーより、"
        "訓練テキストの癖に従う推測の方がはるかによく受理されます。",
        "tinylm.train_text() のすべてのn-gram（n = 8, 6, 4, 3）について、その後に最も多く続くトークンを数えます。"
        "ドラフトでは、コンテキストの末尾が以前に現れていればそこからコピーし（プロンプトルックアップ）、"
        "なければ一致する最長のn-gramの続きを k 回つなげます。表は最初の呼び出しで作ります（時間は測られません）。",
        "if not _TABLES: {(n, ngram): 最頻の次のID} を作る; found = lookup_draft(context, k, max_ngram=8, "
        "min_ngram=4); len(found) >= 3 なら found を返す; そうでなければ context のコピーを _TABLES で伸ばす ...",
        "ターゲットの貪欲な選択とよく一致する安いドラフト：各ステップは一致する接頭辞とターゲット自身の次のトークンを"
        "残すので、出力は貪欲デコーディングと同じまま、ターゲット呼び出しが3〜4分の1に減ります。",
    ),
    "C-challenge": Help(
        "ページは「すでにバジェットの本当の割合を使った」という意味であるべきで、ブリップはあまり使えません。"
        "各窓のバーンレートを、ブリップと通常の背景で説明できる量と比べましょう。",
        "W分の窓の平均バーンレートが r なら、バジェットの r * W / 43 200 を使っています。ブリップは0.4 %以下、"
        "背景のバーンは1以下なので、いくつかのW（3分〜4時間）について burn(W) >= m * (0.004 * 43 200 / W + 1) "
        "（余裕 m > 1、W / 6 の短い窓で確認）ならページします。短い窓は速いバーンを早く捉えます。",
        "cr = np.concatenate([[0], np.cumsum(requests)]); 分 m での直近W分のバーン = "
        "(ce[m] - ce[m - W]) / (cr[m] - cr[m - W]) / 0.001（m >= W になってから）; 各ルールをORでまとめる",
        "どの窓も、インシデントがブリップにできる量を少し超えた時点でページします。多くの窓を使うと、"
        "各バーンレートをノイズと区別できる最短の窓で捉えられます。",
    ),
    "D-challenge": Help(
        "ワーカーの速さは隠れていますが、完了するたびにリクエストの実際のサービス時間がわかります。",
        "FIFOのキューでは、サービスは max(到着, そのワーカーの前回の完了) に始まります：s = now - それ。"
        "ワーカーごとに s のEWMAを持ち、(処理中 + 1) * s_hat が最小のところへ各リクエストを送ります（最短期待遅延）。",
        "completed(): arrival = now - latency; s = now - max(arrival, last_done[w]); last_done[w] = now; "
        "s_hat[w] = alpha * s + (1 - alpha) * s_hat[w]; pick(): w について (pending[w] + 1) * s_hat[w] の最小",
        "least-connectionsは速さを無視し、peak-EWMAのレイテンシはキューイングと速さを混ぜます。各ワーカーのサービス時間を"
        "推定してキューに重みを付けると、速さを知っている最良のディスパッチャーに近づきます。",
    ),
})
