import Foundation
import EmbeddingCore

/// A restricted unpickler: reads the pickles `torch.save` writes for state dicts
/// and optimizer states, and nothing else. It knows only the opcodes such a
/// pickle needs and calls no Python: the few allowed globals are interpreted
/// here (`OrderedDict()` is an empty dict, `_rebuild_tensor_v2(...)` a tensor
/// reference); any other global is refused by name before anything is built.
///
/// Besides the state-dict globals, fastai's `learn.save` (optimizer state
/// included) needs four plain data types, interpreted here as data too: its
/// hyper-parameter list is a `fastcore.foundation.L`, and the learning rate in it
/// a NumPy float64 scalar, pickled as `numpy.dtype('f8')` plus its 8 bytes via
/// `_codecs.encode`.
///
/// In `.graph` mode (for whole pickled objects: fastai's `learn.export()`,
/// `torch.save(model)`) nothing is refused by name and still nothing is called:
/// any other global becomes a placeholder `.global("module.name")`, and
/// `REDUCE`, `NEWOBJ`, `BUILD`, `SETITEMS` and `APPENDS` on it only record
/// (an `Object` holding the callable, its arguments, state and items). The
/// globals above are interpreted as data exactly as in a state dict.
///
/// Hostile input is an error, never a trap: lengths are bounded by the bytes
/// left, memo indices are looked up (never used to size anything), the memo and
/// the number of containers are capped, nesting is limited, and containers are
/// dismantled iteratively afterwards so that even a deep or cyclic structure is
/// released without recursion.
public enum Pickle {
    public enum Mode: Sendable {
        /// State dicts: only the allowed globals, anything else refused by name.
        case stateDict
        /// Whole object graphs: unknown globals become inert placeholders.
        case graph
    }

    /// `module.name` of every global a state dict needs.
    public static let allowedGlobals: Set<String> = Set(storageTypes.keys).union([
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ]).union(dataGlobals)

    /// The data types of fastai's optimizer state (see above).
    public static let dataGlobals: Set<String> = [
        "fastcore.foundation.L", "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "_codecs.encode",
    ]

    /// torch's typed storages as `torch.save` names them, and their element types.
    public static let storageTypes: [String: ElementType] = [
        "torch.FloatStorage": .f32, "torch.DoubleStorage": .f64, "torch.HalfStorage": .f16,
        "torch.BFloat16Storage": .bf16, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
        "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
    ]

    /// Python 2 module names that protocol 2 writes for Python 3's (`_compat_pickle.IMPORT_MAPPING`).
    static let python2Modules = [
        "__builtin__": "builtins", "copy_reg": "copyreg", "commands": "subprocess", "cPickle": "pickle",
        "Queue": "queue", "exceptions": "builtins", "UserDict": "collections", "UserList": "collections",
    ]
    /// Renamed symbols (`_compat_pickle.NAME_MAPPING`).
    static let python2Names = [
        "__builtin__.unicode": "builtins.str", "__builtin__.long": "builtins.int", "__builtin__.xrange": "builtins.range",
        "__builtin__.basestring": "builtins.str", "__builtin__.reduce": "functools.reduce", "__builtin__.intern": "sys.intern",
    ]

    static let maxDepth = 100
    /// The memo and the containers (lists, dicts, objects) each cost tens of bytes
    /// of memory however few bytes they take in the file (1 for MEMOIZE, 2 for an
    /// empty list), so both are capped: at 2^20, or more for a larger pickle, whose
    /// real entries take 15 bytes or more each. A fastai export memoizes 5 entries
    /// per NumPy-integer user id, 1 per title and about 5 per training batch (the
    /// `Recorder`'s losses): 13,333 for one epoch on MovieLens 100k.
    static let minCap = 1 << 20
    static func memoCap(bytes: Int) -> Int { max(minCap, bytes / 4) }
    static func containerCap(bytes: Int) -> Int { max(minCap, bytes / 16) }

    /// A storage named by a persistent id: the zip entry `data/<key>` (or the
    /// legacy format's record `key`), `numel` elements of `dtype`. A legacy view
    /// starts `viewOffset` elements into its root storage.
    public struct StorageRef: Equatable, Sendable {
        public var key: String
        public var dtype: ElementType
        public var numel: Int
        public var viewOffset = 0
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`: a strided view.
    public struct TensorRef: Equatable, Sendable {
        public var storage: StorageRef
        public var offset: Int
        public var shape: [Int]
        public var stride: [Int]
    }

    public final class List { public internal(set) var items: [Value] = [] }
    public final class Dict {
        public internal(set) var entries: [(key: Value, value: Value)] = []
        var index: [String: Int] = [:]

        func set(_ key: Value, _ value: Value) {
            if let k = key.hashKey, let i = index[k] { entries[i].value = value; return }
            if let k = key.hashKey { index[k] = entries.count }
            entries.append((key, value))
        }

        /// The value under the string key `key`.
        public subscript(key: String) -> Value? { index["s" + key].map { entries[$0].value } }
    }

    /// What a pickle would build by calling `callable` (`REDUCE`, `NEWOBJ`):
    /// recorded in `.graph` mode, never called. `state` is what `BUILD` would
    /// pass to `__setstate__` (usually the instance `__dict__`); `listItems` and
    /// `dictItems` what `APPENDS` and `SETITEMS` would add to it.
    public final class Object {
        public let callable: Value
        public internal(set) var args: [Value]
        public internal(set) var state: Value?
        public internal(set) var listItems: [Value] = []
        public internal(set) var dictItems: [(key: Value, value: Value)] = []

        init(callable: Value, args: [Value]) {
            self.callable = callable
            self.args = args
        }

        /// `module.name` of the callable (usually the class), or `(computed callable)`
        /// when the pickle builds the callable itself (`getattr(obj, 'method')`).
        public var className: String {
            if case .global(let name) = callable { return name }
            return "(computed callable)"
        }

        /// The attribute `name` of the instance: its state dict's entry.
        public func attribute(_ name: String) -> Value? {
            if case .dict(let d)? = state { return d[name] }
            // (state, slotstate): the second holds __slots__ values.
            if case .tuple(let parts, _)? = state, parts.count == 2 {
                for case .dict(let d) in parts { if let v = d[name] { return v } }
            }
            return nil
        }
    }

    public indirect enum Value {
        case none
        case bool(Bool)
        case int(Int)
        /// An integer wider than 64 bits, as little-endian two's-complement bytes.
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes(Data)
        /// A tuple and its nesting depth (kept so that building one is O(items)).
        case tuple([Value], depth: Int)
        case list(List)
        case dict(Dict)
        /// An allowed global, not yet called.
        case global(String)
        /// A NumPy dtype, as its descr: `<f8`.
        case dtype(String)
        case storage(StorageRef)
        case tensor(TensorRef)
        /// An object built by a recorded call (`.graph` mode only).
        case object(Object)
        var depth: Int {
            if case .tuple(_, let depth) = self { return depth }
            return 1
        }

        /// A key for dict lookups: strings and integers (what state dicts use).
        var hashKey: String? {
            switch self {
            case .string(let s): return "s" + s
            case .int(let i): return "i\(i)"
            default: return nil
            }
        }

        /// A dict key as a path component: `u_weight.weight`, `0`.
        var keyText: String? {
            switch self {
            case .string(let s): return s
            case .int(let i): return String(i)
            default: return nil
            }
        }
    }

    /// Unpickles `bytes[start...]` up to its STOP opcode and hands the result to
    /// `transform` before the containers are dismantled.
    /// Returns the transformed value and the offset just past STOP.
    public static func load<T>(_ bytes: Data, from start: Int = 0, name: String, mode: Mode = .stateDict,
                               _ transform: (Value) throws -> T) throws -> (T, end: Int) {
        let machine = Machine(name: name, mode: mode)
        defer { machine.dismantle() }
        machine.memoCap = memoCap(bytes: bytes.count - start)
        machine.containerCap = containerCap(bytes: bytes.count - start)
        let (value, end) = try bytes.withUnsafeBytes { raw in
            try machine.run(raw, from: start)
        }
        return (try transform(value), end)
    }

    /// Every tensor in a loaded value, named by its path of dict keys and
    /// list indices joined with dots (`model.u_weight.weight`, `opt.state.0.exp_avg`).
    /// `budget` bounds the nodes visited: memo references can make a small
    /// pickle describe an exponentially large tree.
    public static func tensors(in value: Value, name: String, budget: Int) throws -> [(name: String, tensor: TensorRef)] {
        var out: [(String, TensorRef)] = []
        var visiting = Set<ObjectIdentifier>()
        var visits = 0
        func walk(_ v: Value, _ path: [String]) throws {
            guard path.count <= maxDepth else { throw EmbtoolError.data("\(name): pickle nests deeper than \(maxDepth) levels") }
            visits += 1
            guard visits <= budget else { throw EmbtoolError.data("\(name): pickle describes a structure far larger than the file") }
            switch v {
            case .tensor(let t): out.append((path.joined(separator: "."), t))
            case .tuple(let items, _):
                for (i, item) in items.enumerated() { try walk(item, path + [String(i)]) }
            case .list(let list):
                guard visiting.insert(ObjectIdentifier(list)).inserted else { return }
                for (i, item) in list.items.enumerated() { try walk(item, path + [String(i)]) }
                visiting.remove(ObjectIdentifier(list))
            case .dict(let dict):
                guard visiting.insert(ObjectIdentifier(dict)).inserted else { return }
                for (i, entry) in dict.entries.enumerated() { try walk(entry.value, path + [entry.key.keyText ?? String(i)]) }
                visiting.remove(ObjectIdentifier(dict))
            default: break
            }
        }
        try walk(value, [])
        return out
    }

    static let opcodeNames: [UInt8: String] = [
        0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x69: "INST", 0x6F: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
        0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER", 0x50: "PERSID", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING",
        0x56: "UNICODE", 0x67: "GET", 0x70: "PUT",
    ]

    final class Machine {
        let name: String
        let mode: Mode
        var memoCap = Pickle.minCap, containerCap = Pickle.minCap
        var stack: [Value] = []
        var marks: [Int] = []
        var memo: [Int: Value] = [:]
        /// Every mutable container built, so `dismantle` can empty them one by one.
        var containers: [AnyObject] = []

        init(name: String, mode: Mode) {
            self.name = name
            self.mode = mode
        }

        func bad(_ why: String, at p: Int) -> EmbtoolError { .data("\(name): unsupported pickle: \(why) (byte \(p))") }

        func dismantle() {
            for c in containers {
                if let l = c as? List {
                    l.items = []
                } else if let d = c as? Dict {
                    d.entries = []; d.index = [:]
                } else if let o = c as? Object {
                    o.args = []; o.state = nil; o.listItems = []; o.dictItems = []
                }
            }
            containers = []
            stack = []
            memo = [:]
        }

        func track(_ container: AnyObject) throws {
            guard containers.count < containerCap else {
                throw EmbtoolError.data("\(name): pickle builds more than \(containerCap) lists, dicts and objects; refusing it")
            }
            containers.append(container)
        }

        func newList(_ items: [Value] = []) throws -> Value {
            let l = List()
            l.items = items
            try track(l)
            return .list(l)
        }

        func newDict() throws -> (Value, Dict) {
            let d = Dict()
            try track(d)
            return (.dict(d), d)
        }

        func newObject(_ callable: Value, _ args: [Value]) throws -> Value {
            let o = Object(callable: callable, args: args)
            try track(o)
            return .object(o)
        }

        func remember(_ key: Int, at p: Int) throws {
            guard memo.count < memoCap || memo[key] != nil else {
                throw EmbtoolError.data("\(name): pickle memoizes more than \(memoCap) objects; refusing it")
            }
            memo[key] = try top(at: p)
        }

        func pop(at p: Int) throws -> Value {
            guard let v = stack.popLast(), marks.last.map({ stack.count >= $0 }) ?? true else {
                throw bad("stack underflow", at: p)
            }
            return v
        }

        /// The items above the topmost MARK, removing them and the mark.
        func popMark(at p: Int) throws -> [Value] {
            guard let m = marks.popLast() else { throw bad("no MARK on the stack", at: p) }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }

        func tuple(_ items: [Value], at p: Int) throws -> Value {
            let depth = 1 + (items.map(\.depth).max() ?? 0)
            guard depth <= Pickle.maxDepth else { throw bad("tuples nested deeper than \(Pickle.maxDepth)", at: p) }
            return .tuple(items, depth: depth)
        }

        func run(_ b: UnsafeRawBufferPointer, from start: Int) throws -> (Value, Int) {
            var p = start
            func need(_ n: Int) throws {
                guard n >= 0, n <= b.count - p else { throw EmbtoolError.data("\(name): pickle is truncated (byte \(p))") }
            }
            func u8() throws -> Int { try need(1); defer { p += 1 }; return Int(b[p]) }
            func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
                try need(MemoryLayout<T>.size)
                defer { p += MemoryLayout<T>.size }
                return T(littleEndian: b.loadUnaligned(fromByteOffset: p, as: T.self))
            }
            func raw(_ n: Int) throws -> UnsafeRawBufferPointer {
                try need(n)
                defer { p += n }
                return UnsafeRawBufferPointer(rebasing: b[p..<(p + n)])
            }
            func text(_ n: Int) throws -> String {
                let r = try raw(n)
                guard let s = String(validating: r.bindMemory(to: UInt8.self), as: UTF8.self) else {
                    throw bad("string is not UTF-8", at: p)
                }
                return s
            }
            func line() throws -> String {
                var q = p
                while q < b.count && b[q] != 0x0A { q += 1 }
                guard q < b.count else { throw EmbtoolError.data("\(name): pickle is truncated (byte \(p))") }
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: b[p..<q]), as: UTF8.self)
                p = q + 1
                return s
            }
            func integer(_ bytes: UnsafeRawBufferPointer) throws -> Value {
                guard bytes.count <= 8 else {
                    guard bytes.count <= 256 else { throw bad("integer of \(bytes.count) bytes", at: p) }
                    return .bigInt(Array(bytes))
                }
                guard !bytes.isEmpty else { return .int(0) }
                var v: UInt64 = 0
                for (i, byte) in bytes.enumerated() { v |= UInt64(byte) << UInt64(8 * i) }
                // Sign-extend from the top byte.
                if bytes.count < 8 && bytes[bytes.count - 1] & 0x80 != 0 { v |= ~0 << UInt64(8 * bytes.count) }
                return .int(Int(Int64(bitPattern: v)))
            }
            func global(_ module: String, _ symbol: String, at q: Int) throws -> Value {
                // Protocol 2 writes Python 3 names as Python 2 knew them; read back as Python 3's
                // unpickler does (`_compat_pickle`'s most common entries).
                let full = Pickle.python2Names["\(module).\(symbol)"]
                    ?? "\(Pickle.python2Modules[module] ?? module).\(symbol)"
                guard mode == .graph || Pickle.allowedGlobals.contains(full) else {
                    // A class from a model library usually means torch.save(model) rather than its state dict.
                    let why = ["torch.nn.", "fastai.", "__main__."].contains { full.hasPrefix($0) }
                        ? "this looks like a whole pickled model (torch.save(model)); save model.state_dict() or use learn.save() instead"
                        : "a state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
                            + "torch._utils._rebuild_parameter, torch storage types and the plain data types of fastai's optimizer state"
                    throw EmbtoolError.data("\(name): refusing pickle global '\(full)' (byte \(q)): \(why); nothing was imported or executed")
                }
                return .global(full)
            }

            while true {
                let opAt = p
                let op = UInt8(try u8())
                switch op {
                case 0x80: // PROTO
                    let version = try u8()
                    guard version <= 5 else { throw bad("protocol \(version)", at: opAt) }
                case 0x95: _ = try le(UInt64.self) // FRAME: a length hint only
                case 0x2E: // STOP
                    guard stack.count == 1, marks.isEmpty else { throw bad("STOP with \(stack.count) values on the stack", at: opAt) }
                    return (stack[0], p)
                case 0x28: marks.append(stack.count) // MARK
                case 0x30: _ = try pop(at: opAt) // POP
                case 0x31: _ = try popMark(at: opAt) // POP_MARK
                case 0x32: // DUP
                    let v = try pop(at: opAt)
                    stack.append(v); stack.append(v)
                case 0x4E: stack.append(.none) // NONE
                case 0x88: stack.append(.bool(true)) // NEWTRUE
                case 0x89: stack.append(.bool(false)) // NEWFALSE
                case 0x4A: stack.append(.int(Int(try le(Int32.self)))) // BININT
                case 0x4B: stack.append(.int(try u8())) // BININT1
                case 0x4D: stack.append(.int(Int(try le(UInt16.self)))) // BININT2
                case 0x8A: stack.append(try integer(try raw(try u8()))) // LONG1
                case 0x8B: // LONG4
                    let n = Int(try le(Int32.self))
                    guard n >= 0 else { throw bad("negative length", at: opAt) }
                    stack.append(try integer(try raw(n)))
                case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try le(UInt64.self))))) // BINFLOAT (big-endian)
                case 0x58: stack.append(.string(try text(Int(try le(UInt32.self))))) // BINUNICODE
                case 0x8C: stack.append(.string(try text(try u8()))) // SHORT_BINUNICODE
                case 0x8D: // BINUNICODE8
                    let n = try le(UInt64.self)
                    guard n <= UInt64(b.count) else { throw EmbtoolError.data("\(name): pickle is truncated (byte \(p))") }
                    stack.append(.string(try text(Int(n))))
                case 0x54: // BINSTRING (Python 2 str; torch reads it as UTF-8)
                    let n = Int(try le(Int32.self))
                    guard n >= 0 else { throw bad("negative length", at: opAt) }
                    stack.append(.string(try text(n)))
                case 0x55: stack.append(.string(try text(try u8()))) // SHORT_BINSTRING
                case 0x42: stack.append(.bytes(Data(try raw(Int(try le(UInt32.self)))))) // BINBYTES
                case 0x43: stack.append(.bytes(Data(try raw(try u8())))) // SHORT_BINBYTES
                case 0x8E: // BINBYTES8
                    let n = try le(UInt64.self)
                    guard n <= UInt64(b.count) else { throw EmbtoolError.data("\(name): pickle is truncated (byte \(p))") }
                    stack.append(.bytes(Data(try raw(Int(n)))))
                case 0x29: stack.append(.tuple([], depth: 1)) // EMPTY_TUPLE
                case 0x74: stack.append(try tuple(try popMark(at: opAt), at: opAt)) // TUPLE
                case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                    let n = Int(op - 0x84)
                    guard stack.count - (marks.last ?? 0) >= n else { throw bad("stack underflow", at: opAt) }
                    let items = Array(stack.suffix(n))
                    stack.removeLast(n)
                    stack.append(try tuple(items, at: opAt))
                case 0x5D: stack.append(try newList()) // EMPTY_LIST
                case 0x6C: stack.append(try newList(try popMark(at: opAt))) // LIST
                case 0x61, 0x65: // APPEND, APPENDS
                    let items = op == 0x61 ? [try pop(at: opAt)] : try popMark(at: opAt)
                    switch stack.last {
                    case .list(let list)?: list.items.append(contentsOf: items)
                    case .object(let o)? where mode == .graph: o.listItems.append(contentsOf: items)
                    default: throw bad("APPEND to something that is not a list", at: opAt)
                    }
                case 0x8F where mode == .graph: stack.append(try newList()) // EMPTY_SET, as a list
                case 0x90 where mode == .graph: // ADDITEMS
                    let items = try popMark(at: opAt)
                    guard case .list(let list)? = stack.last else { throw bad("ADDITEMS to something that is not a set", at: opAt) }
                    list.items.append(contentsOf: items)
                case 0x91 where mode == .graph: stack.append(try newList(try popMark(at: opAt))) // FROZENSET
                case 0x7D: stack.append(try newDict().0) // EMPTY_DICT
                case 0x64, 0x73, 0x75: // DICT, SETITEM, SETITEMS
                    let items: [Value]
                    if op == 0x73 {
                        let v = try pop(at: opAt), k = try pop(at: opAt)
                        items = [k, v]
                    } else {
                        items = try popMark(at: opAt)
                    }
                    guard items.count % 2 == 0 else { throw bad("odd number of dict items", at: opAt) }
                    let dict: Dict
                    if op == 0x64 {
                        let (value, d) = try newDict()
                        stack.append(value)
                        dict = d
                    } else if mode == .graph, case .object(let o)? = stack.last {
                        // A dict subclass (defaultdict, ...): recorded.
                        for i in stride(from: 0, to: items.count, by: 2) { o.dictItems.append((items[i], items[i + 1])) }
                        continue
                    } else {
                        guard case .dict(let d)? = stack.last else { throw bad("SETITEM on something that is not a dict", at: opAt) }
                        dict = d
                    }
                    for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
                case 0x63: // GLOBAL "module\nname\n"
                    let module = try line()
                    stack.append(try global(module, try line(), at: opAt))
                case 0x93: // STACK_GLOBAL
                    let symbol = try pop(at: opAt), module = try pop(at: opAt)
                    guard case .string(let m) = module, case .string(let s) = symbol else { throw bad("STACK_GLOBAL needs two strings", at: opAt) }
                    stack.append(try global(m, s, at: opAt))
                case 0x52: // REDUCE
                    let args = try pop(at: opAt), callable = try pop(at: opAt)
                    guard case .tuple(let a, _) = args else { throw bad("REDUCE needs an argument tuple", at: opAt) }
                    if case .global(let function) = callable, Pickle.allowedGlobals.contains(function) {
                        stack.append(try interpret(function, a, at: opAt))
                    } else if mode == .graph {
                        stack.append(try newObject(callable, a))
                    } else {
                        throw bad("REDUCE needs an allowed global", at: opAt)
                    }
                case 0x62: // BUILD: sets an object's state
                    let state = try pop(at: opAt)
                    switch (stack.last, state) {
                    case (.dict?, .dict):
                        break  // an OrderedDict's `_metadata` (module versions): not needed
                    case (.list(let list)?, .dict(let d)):
                        // fastcore's L keeps its elements in `items`.
                        if let items = d.entries.first(where: { $0.key.keyText == "items" })?.value, case .list(let source) = items {
                            list.items = source.items
                        }
                    case (.dtype(let descr)?, .tuple(let t, _)):
                        // numpy.dtype's state: (version, byte order, ...).
                        if t.count > 1, case .string(let order) = t[1], order.count == 1 {
                            stack[stack.count - 1] = .dtype(order + descr.dropFirst())
                        }
                    case (.object(let o)?, _) where mode == .graph:
                        o.state = state
                    case (_?, _) where mode == .graph:
                        break  // state for a value read as plain data: not needed
                    default:
                        throw bad("BUILD on an object embtool does not interpret", at: opAt)
                    }
                case 0x81: // NEWOBJ: fastcore's L (a list); in graph mode any class, recorded
                    let args = try pop(at: opAt), cls = try pop(at: opAt)
                    guard case .tuple(let a, _) = args else { throw bad("NEWOBJ needs an argument tuple", at: opAt) }
                    if case .global("fastcore.foundation.L") = cls, a.isEmpty {
                        stack.append(try newList())
                    } else if mode == .graph {
                        stack.append(try newObject(cls, a))
                    } else {
                        throw bad("NEWOBJ of something other than fastcore's L", at: opAt)
                    }
                case 0x92 where mode == .graph: // NEWOBJ_EX: cls, args, kwargs (the kwargs kept as a last argument)
                    let kwargs = try pop(at: opAt), args = try pop(at: opAt), cls = try pop(at: opAt)
                    guard case .tuple(let a, _) = args else { throw bad("NEWOBJ_EX needs an argument tuple", at: opAt) }
                    stack.append(try newObject(cls, a + [kwargs]))
                case 0x51: // BINPERSID: torch's ('storage', type, key, location, numel[, view])
                    stack.append(try persistent(try pop(at: opAt), at: opAt))
                case 0x71: try remember(try u8(), at: opAt) // BINPUT
                case 0x72: try remember(Int(try le(UInt32.self)), at: opAt) // LONG_BINPUT
                case 0x94: try remember(memo.count, at: opAt) // MEMOIZE
                case 0x68, 0x6A: // BINGET, LONG_BINGET
                    let key = op == 0x68 ? try u8() : Int(try le(UInt32.self))
                    guard let v = memo[key] else { throw bad("memo entry \(key) was never stored", at: opAt) }
                    stack.append(v)
                default:
                    let opName = Pickle.opcodeNames[op].map { " (\($0))" } ?? ""
                    throw bad(String(format: "opcode 0x%02x%@ is not allowed in %@", op, opName, mode == .graph ? "a pickle embtool reads" : "a state dict"), at: opAt)
                }
            }
        }

        func top(at p: Int) throws -> Value {
            guard let v = stack.last else { throw bad("memo store with an empty stack", at: p) }
            return v
        }

        func int(_ v: Value, _ what: String, at p: Int) throws -> Int {
            guard case .int(let i) = v else { throw bad("\(what) is not an integer", at: p) }
            return i
        }

        func ints(_ v: Value, _ what: String, at p: Int) throws -> [Int] {
            guard case .tuple(let items, _) = v else { throw bad("\(what) is not a tuple", at: p) }
            return try items.map { try int($0, what, at: p) }
        }

        /// `numpy.core.multiarray.scalar(dtype, bytes)`: one number.
        func scalar(_ args: [Value], at p: Int) throws -> Value {
            guard args.count == 2, case .dtype(let descr) = args[0], case .bytes(let bytes) = args[1] else {
                throw bad("numpy scalar needs a dtype and its bytes", at: p)
            }
            let kinds: [String: ElementType] = ["f8": .f64, "f4": .f32, "f2": .f16, "i8": .i64, "i4": .i32, "i2": .i16,
                                                "i1": .i8, "u8": .u64, "u4": .u32, "u2": .u16, "u1": .u8, "b1": .bool]
            guard let t = kinds[String(descr.dropFirst())], bytes.count == t.size else {
                throw bad("numpy scalar of dtype \(descr) with \(bytes.count) bytes", at: p)
            }
            // The raw bits, in the platform's order, zero-extended to 64.
            var bits: UInt64 = 0
            for (i, byte) in bytes.enumerated() {
                let shift = descr.first == ">" ? 8 * (bytes.count - 1 - i) : 8 * i
                bits |= UInt64(byte) << UInt64(shift)
            }
            switch t {
            case .f64: return .float(Double(bitPattern: bits))
            case .f32: return .float(Double(Float(bitPattern: UInt32(bits))))
            case .f16: return .float(Double(FloatBits.half(UInt16(bits))))
            case .bool: return .bool(bits != 0)
            case .u64: return bits <= UInt64(Int.max) ? .int(Int(bits)) : .float(Double(bits))
            case .u32, .u16, .u8: return .int(Int(bits))
            default:
                // Signed: sign-extend from the top bit of the stored width.
                let width = UInt64(8 * t.size)
                let signed = width == 64 ? Int64(bitPattern: bits) : Int64(bitPattern: bits << (64 - width)) >> Int64(64 - width)
                return .int(Int(signed))
            }
        }

        func persistent(_ pid: Value, at p: Int) throws -> Value {
            guard case .tuple(let t, _) = pid, t.count >= 5, case .string("storage") = t[0],
                  case .global(let type) = t[1], let dtype = Pickle.storageTypes[type] else {
                throw bad("persistent id is not a torch storage", at: p)
            }
            guard let key = t[2].keyText else { throw bad("storage key is not a string", at: p) }
            let numel = try int(t[4], "storage size", at: p)
            guard numel >= 0 else { throw bad("negative storage size", at: p) }
            var ref = StorageRef(key: key, dtype: dtype, numel: numel)
            // Legacy format: (view_key, offset, size) makes this a view into the root storage.
            if t.count >= 6, case .tuple(let view, _) = t[5], view.count == 3 {
                let offset = try int(view[1], "view offset", at: p), size = try int(view[2], "view size", at: p)
                guard offset >= 0, size >= 0, offset <= numel, size <= numel - offset else { throw bad("storage view outside its storage", at: p) }
                ref.viewOffset = offset
                ref.numel = size
            }
            return .storage(ref)
        }

        /// An allowed global applied to `args`, read as the data it builds. In
        /// graph mode a data global used otherwise than a state dict uses it is
        /// kept as a recorded object; a tensor that does not fit its storage is
        /// an error in either mode.
        func interpret(_ function: String, _ args: [Value], at p: Int) throws -> Value {
            guard mode == .graph, !function.hasPrefix("torch.") else { return try call(function, args, at: p) }
            do {
                return try call(function, args, at: p)
            } catch {
                return try newObject(.global(function), args)
            }
        }

        func call(_ function: String, _ args: [Value], at p: Int) throws -> Value {
            switch function {
            case "collections.OrderedDict":
                guard args.isEmpty else { throw bad("OrderedDict called with arguments", at: p) }
                return try newDict().0
            case "torch._utils._rebuild_tensor_v2":
                guard args.count >= 4, case .storage(let storage) = args[0] else {
                    throw bad("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)", at: p)
                }
                let offset = try int(args[1], "storage offset", at: p)
                let shape = try ints(args[2], "tensor size", at: p), stride = try ints(args[3], "tensor stride", at: p)
                guard shape.count == stride.count, shape.count <= 32 else { throw bad("tensor size and stride differ in rank", at: p) }
                guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
                    throw bad("negative tensor offset, size or stride", at: p)
                }
                // The furthest element the view touches must lie inside the storage.
                if !shape.contains(0) {
                    var reach = offset
                    for (n, s) in zip(shape, stride) {
                        let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
                        let (sum, o2) = reach.addingReportingOverflow(step)
                        guard !o1, !o2 else { throw bad("tensor view overflows", at: p) }
                        reach = sum
                    }
                    guard reach < storage.numel else {
                        throw bad("tensor view reaches element \(reach) of a \(storage.numel)-element storage", at: p)
                    }
                }
                return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, stride: stride))
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
                guard args.count >= 1, case .tensor = args[0] else { throw bad("_rebuild_parameter needs a tensor", at: p) }
                return args[0]
            case "numpy.dtype":
                guard let first = args.first, case .string(let kind) = first, kind.count <= 8 else {
                    throw bad("numpy.dtype needs a type string", at: p)
                }
                return .dtype("<" + kind)
            case "_codecs.encode":
                // Protocol 2 pickles bytes as encode(text, 'latin1'): each character is one byte.
                guard args.count == 2, case .string(let text) = args[0], case .string(let encoding) = args[1],
                      ["latin1", "latin-1"].contains(encoding.lowercased()) else {
                    throw bad("_codecs.encode other than latin1", at: p)
                }
                var bytes = Data()
                for scalar in text.unicodeScalars {
                    guard scalar.value < 256 else { throw bad("latin1 text with a character beyond U+00FF", at: p) }
                    bytes.append(UInt8(scalar.value))
                }
                return .bytes(bytes)
            case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
                return try scalar(args, at: p)
            default:
                throw bad("\(function) cannot be called", at: p)
            }
        }
    }
}
