import ArgumentParser
import EmbeddingKit
import Foundation

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Recommend items to a known user, or to a new one described by a few titles.",
        discussion: """
        --user ID ranks the items that user has not rated (which ones they rated comes from \
        --data, or the default dataset when the model was trained on it) by the model's \
        predicted rating.

        --like and --dislike describe a new user by a few titles: the user's vector is found \
        by a small ridge regression on those items' factors and biases — each like stands for \
        a rating 90 % up the model's rating range, each dislike 20 % — solved with LAPACK; \
        cold start without retraining. --ridge sets how strongly the vector is kept short \
        (larger: closer to the overall favourites; smaller: closer to the titles given).

        Examples:
          embtool recommend --user 42
          embtool recommend --like "Star Wars" --like Alien --dislike Titanic
          embtool recommend --like "Toy Story" --min-ratings 50 --json
          embtool recommend --all-users --top 10 --csv recommendations.csv
        """)

    @Option(help: ArgumentHelp("Recommend to this existing user (their id in the data).", valueName: "id"))
    var user: String?

    @Flag(help: ArgumentHelp("Recommend to every user of the model at once (blocked sgemm); needs --csv or --json.",
                             discussion: "Each user's list is the one --user gives. CSV columns: user,rank,label,score."))
    var allUsers = false

    @Option(help: ArgumentHelp("A title the new user likes (repeatable; resolved like 'similar' does).", valueName: "title"))
    var like: [String] = []

    @Option(help: ArgumentHelp("A title the new user dislikes (repeatable).", valueName: "title"))
    var dislike: [String] = []

    @Option(help: ArgumentHelp("How many items to recommend.", valueName: "n"))
    var top = 10

    @Option(help: ArgumentHelp("Only recommend items with at least this many ratings (0: all). Default 20 when the model has rating counts.", valueName: "n"))
    var minRatings: Int?

    @Option(help: ArgumentHelp("Ridge penalty λ of the fold-in regression (with --like/--dislike).", valueName: "λ"))
    var ridge = 1.0

    @Option(help: ArgumentHelp("Also write the recommendations as CSV to this path.", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object on stdout instead of a table.")
    var json = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions

    func validate() throws {
        let fold = !like.isEmpty || !dislike.isEmpty
        if [user != nil, fold, allUsers].filter({ $0 }).count > 1 { throw ValidationError("give one of --user, --like/--dislike or --all-users") }
        if allUsers && csv == nil && !json { throw ValidationError("--all-users lists every user's items: give --csv FILE or --json") }
        if user == nil && !fold && !allUsers { throw ValidationError("say who to recommend to: --user ID, or --like TITLE (and --dislike TITLE)") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if let minRatings, minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
        if !(ridge > 0) { throw ValidationError("--ridge must be positive") }
    }

    func run() throws {
        let model = try modelOptions.load(data: data)
        // fastai's EmbeddingNN predicts through its network: its user embeddings meet no dot product.
        let network = try modelOptions.network(of: model)
        if allUsers { return try runAllUsers(model, network: network) }
        let items: [Recommendation]
        var liked: [String] = [], disliked: [String] = []
        let catalog: Catalog
        let floor: RatingFloor
        if let user {
            let ratings = try companionRatings(for: model, data: data, purpose: "the items user \(user) has rated are")
            catalog = try Catalog(model: model, ratings: ratings)
            let userRows = network?.userCount ?? model.userFactors?.rows ?? 0
            guard userRows > 0 else {
                throw EmbtoolError.data("\(modelOptions.model ?? "the model") has no user factors, so it cannot recommend to its users")
            }
            guard let u = KeyAlignment.row(of: user, in: model.meta.userLabels), u < userRows else {
                throw EmbtoolError.usage("no user '\(user)' in the model (\(max(0, model.meta.userLabels.count - 1)) users, e.g. '\(model.meta.userLabels.dropFirst().first ?? "1")')")
            }
            let seen = ratings.map { seenRows(user: user, ratings: $0, model: model) } ?? []
            let predictions = network.map { Recommender.predictions($0, user: u) } ?? Recommender.predictions(model, user: u)
            floor = try RatingFloor.resolve(minRatings, catalog)
            items = Recommender.best(predictions, rows: try catalog.rows(minRatings: floor.minRatings), excluded: seen, count: top)
        } else {
            guard network == nil else {
                throw EmbtoolError.data("\(modelOptions.model ?? "the model") is fastai's EmbeddingNN: a new user is folded in through "
                    + "a dot product, which it has none of; recommend --user ID ranks one of its users' predictions")
            }
            let ratings = data.data != nil ? try companionRatings(for: model, data: data, purpose: "counts are") : nil
            catalog = try Catalog(model: model, ratings: ratings)
            let resolver = TitleResolver(labels: catalog.labels, rows: Array(catalog.rows), popularity: catalog.counts)
            let likedRows = try like.map(resolver.row(for:)), dislikedRows = try dislike.map(resolver.row(for:))
            liked = likedRows.map { catalog.labels[$0] }
            disliked = dislikedRows.map { catalog.labels[$0] }
            let vector = try Recommender.foldIn(model, liked: likedRows, disliked: dislikedRows, ridge: ridge)
            let predictions = Recommender.predictions(model, for: vector)
            floor = try RatingFloor.resolve(minRatings, catalog)
            items = Recommender.best(predictions, rows: try catalog.rows(minRatings: floor.minRatings),
                                     excluded: Set(likedRows + dislikedRows), count: top)
        }

        if let csv {
            var table = CSVTable(header: ["rank", "label", "predicted_rating", "count"])
            for (r, item) in items.enumerated() {
                table.appendRow([String(r + 1), catalog.labels[item.row], CSVTable.number(item.predictedRating), catalog.count(item.row).map(String.init) ?? ""])
            }
            try writeOutput(table.bytes, to: csv)
        }
        if json {
            try printJSON(RecommendJSON(user: user, like: user == nil ? liked : nil, dislike: user == nil ? disliked : nil,
                                        minRatings: floor.minRatings, minRatingsSource: floor.source.rawValue,
                                        items: items.map { .init(label: catalog.labels[$0.row], predictedRating: $0.predictedRating, count: catalog.count($0.row)) }))
            return
        }
        if let user {
            print("For user \(TerminalText.escape(user)), among the items they have not rated:")
        } else {
            let parts = [liked.isEmpty ? nil : "likes " + liked.map(TerminalText.escape).joined(separator: "; "),
                         disliked.isEmpty ? nil : "dislikes " + disliked.map(TerminalText.escape).joined(separator: "; ")].compactMap { $0 }
            print("For a new user who \(parts.joined(separator: " and ")):")
        }
        print(floor.sentence)
        var table = TextTable(["#", "predicted", "ratings", "title"], alignments: [.right, .right, .right, .left])
        for (r, item) in items.enumerated() {
            table.append([String(r + 1), fixed(item.predictedRating, 2), catalog.count(item.row).map(String.init) ?? "–", catalog.labels[item.row]])
        }
        print(table.render())
    }

    /// `--all-users`: every user's list by `Recommender.bestForUsers` (for an
    /// EmbeddingNN, the ranking of its network's predictions).
    func runAllUsers(_ model: FactorModel, network: EmbeddingNNModel?) throws {
        guard model.userFactors != nil || network != nil else {
            throw EmbtoolError.data("\(modelOptions.model ?? "the model") has no user factors, so it cannot recommend to its users")
        }
        let ratings = try companionRatings(for: model, data: data, purpose: "the items each user has rated are")
        let catalog = try Catalog(model: model, ratings: ratings)
        let predictor: any RatingModel = network ?? model
        let users = Recommender.knownUsers(predictor)
        let seen = ratings.map { Recommender.seenRows(users: users, ratings: $0, model: predictor) } ?? Array(repeating: [], count: users.count)
        let floor = try RatingFloor.resolve(minRatings, catalog)
        let started = DispatchTime.now().uptimeNanoseconds
        let rows = try catalog.rows(minRatings: floor.minRatings)
        let result = try network.map { Recommender.bestForUsers(predicting: $0, users: users, rows: rows, excluded: seen, count: top) }
            ?? Recommender.bestForUsers(model, users: users, rows: rows, excluded: seen, count: top)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        note(String(format: "recommended %d items to each of %d users in %.3f s", top, users.count, seconds))
        let userLabel = { (u: Int) in u < model.meta.userLabels.count ? model.meta.userLabels[u] : String(u) }
        if let csv {
            var table = CSVTable(header: ["user", "rank", "label", "score"])
            for (p, u) in users.enumerated() {
                for (r, item) in result.recommendations(ofPosition: p).enumerated() {
                    table.appendRow([userLabel(u), String(r + 1), catalog.labels[item.row], CSVTable.number(item.predictedRating)])
                }
            }
            try writeOutput(table.bytes, to: csv)
        }
        if json {
            let lists = users.indices.map { p in
                RecommendAllJSON.User(user: userLabel(users[p]), items: result.recommendations(ofPosition: p).map {
                    .init(label: catalog.labels[$0.row], predictedRating: $0.predictedRating, count: catalog.count($0.row))
                })
            }
            try printJSON(RecommendAllJSON(users: users.count, top: top, seconds: seconds, csv: csv,
                                           minRatings: floor.minRatings, minRatingsSource: floor.source.rawValue, recommendations: lists))
        } else {
            print("Recommended \(top) items to each of \(users.count) users, among the items each has not rated.")
            print(floor.sentence)
        }
    }

    /// Model item rows the user rated in `ratings`, matched by item key.
    func seenRows(user: String, ratings: Ratings, model: FactorModel) -> Set<Int> {
        guard let u = ratings.users.index(of: user) else { return [] }
        let modelRow = KeyAlignment(data: ratings.items.labels, model: model.meta.itemKeys, modelRows: model.itemCount).modelRow
        var seen = Set<Int>()
        for (ru, ri) in zip(ratings.user, ratings.item) where Int(ru) == u && modelRow[Int(ri)] >= 0 {
            seen.insert(modelRow[Int(ri)])
        }
        return seen
    }
}

/// The `--json` document of `recommend --all-users`.
struct RecommendAllJSON: Encodable {
    struct User: Encodable {
        var user: String
        var items: [RecommendJSON.Item]
    }
    var users, top: Int
    /// Wall time of the ranking alone.
    var seconds: Double
    @NullWhenAbsent var csv: String?
    var minRatings: Int
    var minRatingsSource: String
    var recommendations: [User]
}

struct RecommendJSON: Encodable {
    struct Item: Encodable {
        var label: String
        var predictedRating: Float
        @NullWhenAbsent var count: Int?
    }
    var user: String?
    var like, dislike: [String]?
    var minRatings: Int
    var minRatingsSource: String
    var items: [Item]
}
