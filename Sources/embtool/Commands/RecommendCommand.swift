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
        """)

    @Option(help: ArgumentHelp("Recommend to this existing user (their id in the data).", valueName: "id"))
    var user: String?

    @Option(help: ArgumentHelp("A title the new user likes (repeatable; resolved like 'similar' does).", valueName: "title"))
    var like: [String] = []

    @Option(help: ArgumentHelp("A title the new user dislikes (repeatable).", valueName: "title"))
    var dislike: [String] = []

    @Option(help: ArgumentHelp("How many items to recommend.", valueName: "n"))
    var top = 10

    @Option(help: ArgumentHelp("Only recommend items with at least this many ratings (0: all).", valueName: "n"))
    var minRatings = 0

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
        if user != nil && fold { throw ValidationError("give --user or --like/--dislike, not both") }
        if user == nil && !fold { throw ValidationError("say who to recommend to: --user ID, or --like TITLE (and --dislike TITLE)") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if minRatings < 0 { throw ValidationError("--min-ratings cannot be negative") }
        if !(ridge > 0) { throw ValidationError("--ridge must be positive") }
    }

    func run() throws {
        let model = try modelOptions.load(data: data)
        let items: [Recommendation]
        var liked: [String] = [], disliked: [String] = []
        let catalog: Catalog
        if let user {
            let ratings = try companionRatings(for: model, data: data, purpose: "the items user \(user) has rated are")
            catalog = try Catalog(model: model, ratings: ratings)
            guard let u = KeyAlignment.row(of: user, in: model.meta.userLabels), model.userFactors.map({ u < $0.rows }) ?? false else {
                throw EmbtoolError.usage("no user '\(user)' in the model (\(max(0, model.meta.userLabels.count - 1)) users, e.g. '\(model.meta.userLabels.dropFirst().first ?? "1")')")
            }
            let seen = ratings.map { seenRows(user: user, ratings: $0, model: model) } ?? []
            let predictions = Recommender.predictions(model, user: u)
            items = Recommender.best(predictions, rows: try catalog.rows(minRatings: minRatings), excluded: seen, count: top)
        } else {
            let ratings = data.data != nil ? try companionRatings(for: model, data: data, purpose: "counts are") : nil
            catalog = try Catalog(model: model, ratings: ratings)
            let resolver = TitleResolver(labels: catalog.labels, rows: Array(catalog.rows), popularity: catalog.counts)
            let likedRows = try like.map(resolver.row(for:)), dislikedRows = try dislike.map(resolver.row(for:))
            liked = likedRows.map { catalog.labels[$0] }
            disliked = dislikedRows.map { catalog.labels[$0] }
            let vector = try Recommender.foldIn(model, liked: likedRows, disliked: dislikedRows, ridge: ridge)
            let predictions = Recommender.predictions(model, for: vector)
            items = Recommender.best(predictions, rows: try catalog.rows(minRatings: minRatings),
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
        var table = TextTable(["#", "predicted", "ratings", "title"], alignments: [.right, .right, .right, .left])
        for (r, item) in items.enumerated() {
            table.append([String(r + 1), fixed(item.predictedRating, 2), catalog.count(item.row).map(String.init) ?? "–", catalog.labels[item.row]])
        }
        print(table.render())
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

struct RecommendJSON: Encodable {
    struct Item: Encodable {
        var label: String
        var predictedRating: Float
        @NullWhenAbsent var count: Int?
    }
    var user: String?
    var like: [String]?
    var dislike: [String]?
    var items: [Item]
}
