//! A lossless XML document: every byte of the input is kept, so an unedited document
//! writes back byte-identical and an edit changes only the element it touches.
//!
//! quick-xml does the tokenising and the well-formedness checks; we slice the source at
//! the reader's byte positions so that each node owns its exact raw text. Start tags are
//! additionally split into attribute pieces (leading whitespace, name, `=` spelling,
//! quote, raw value) so that one attribute can change without disturbing its
//! neighbours. Entities are never resolved from outside the document: raw text is kept
//! as written and only the predefined and numeric references are decoded on request.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Index of a node in a [`Document`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Where something is in the source text (1-based line and column, byte offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// A document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Where the problem was found.
    pub pos: Pos,
    /// One line saying what is wrong.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.column, self.message)
    }
}

impl std::error::Error for XmlError {}

/// A piece of text: a span of the source as read, or text written by an edit. Spans
/// keep parsing to a handful of allocations however large the document is.
#[derive(Clone, Debug)]
pub enum Text {
    /// Bytes `start..end` of the document's source.
    Src(u32, u32),
    /// Text written by an edit.
    Own(Box<str>),
}

// Nodes and attributes are the bulk of a large document's memory: keep their parts
// small (a span fits beside the owned text's pointer, so a piece costs 16 bytes).
const _: () = assert!(std::mem::size_of::<Text>() == 16);
const _: () = assert!(std::mem::size_of::<Attr>() == 24);

impl Text {
    /// The text, given the document's source.
    pub fn get<'a>(&'a self, src: &'a str) -> &'a str {
        match self {
            Text::Src(a, b) => &src[*a as usize..*b as usize],
            Text::Own(s) => s,
        }
    }

    fn span(a: usize, b: usize) -> Text {
        Text::Src(a as u32, b as u32)
    }

    fn own(s: impl Into<Box<str>>) -> Text {
        Text::Own(s.into())
    }
}

/// One attribute of a start tag, split so that it can be written back exactly.
#[derive(Clone, Debug)]
pub enum Attr {
    /// An attribute as read, by the offsets of its pieces in the source: leading
    /// whitespace from `lead`, the name `name..name_end`, the `=` spelling up to the
    /// quote at `value - 1`, the raw value `value..value_end`. Twenty bytes, where the
    /// pieces as separate texts would take a hundred.
    Src {
        lead: u32,
        name: u32,
        name_end: u32,
        value: u32,
        value_end: u32,
    },
    /// An attribute an edit wrote or changed.
    Own(Box<OwnAttr>),
}

/// The pieces of an attribute an edit wrote.
#[derive(Clone, Debug)]
pub struct OwnAttr {
    /// Whitespace before the name (at least one character in a well-formed tag).
    lead: Text,
    /// Qualified name as written.
    name: Text,
    /// Everything between the name and the opening quote, normally `=`.
    eq: Text,
    /// `'` or `"`.
    quote: char,
    /// The value as written, references not decoded.
    raw_value: Text,
}

impl Attr {
    fn name<'a>(&'a self, src: &'a str) -> &'a str {
        match self {
            Attr::Src { name, name_end, .. } => &src[*name as usize..*name_end as usize],
            Attr::Own(a) => a.name.get(src),
        }
    }

    fn raw_value<'a>(&'a self, src: &'a str) -> &'a str {
        match self {
            Attr::Src {
                value, value_end, ..
            } => &src[*value as usize..*value_end as usize],
            Attr::Own(a) => a.raw_value.get(src),
        }
    }

    fn quote(&self, src: &str) -> char {
        match self {
            Attr::Src { value, .. } => src.as_bytes()[*value as usize - 1] as char,
            Attr::Own(a) => a.quote,
        }
    }

    /// Replaces the raw value, keeping the other pieces as written.
    fn set_raw_value(&mut self, src: &str, raw: String) {
        *self = Attr::Own(Box::new(match self {
            Attr::Src {
                lead,
                name,
                name_end,
                value,
                ..
            } => OwnAttr {
                lead: Text::Src(*lead, *name),
                name: Text::Src(*name, *name_end),
                eq: Text::Src(*name_end, *value - 1),
                quote: src.as_bytes()[*value as usize - 1] as char,
                raw_value: Text::own(raw),
            },
            Attr::Own(a) => OwnAttr {
                raw_value: Text::own(raw),
                ..(**a).clone()
            },
        }));
    }

    fn write(&self, src: &str, out: &mut String) {
        match self {
            Attr::Src {
                lead, value_end, ..
            } => out.push_str(&src[*lead as usize..*value_end as usize + 1]),
            Attr::Own(a) => {
                out.push_str(a.lead.get(src));
                out.push_str(a.name.get(src));
                out.push_str(a.eq.get(src));
                out.push(a.quote);
                out.push_str(a.raw_value.get(src));
                out.push(a.quote);
            }
        }
    }
}

/// An element node.
#[derive(Clone, Debug)]
pub struct Element {
    /// Qualified name as written (`domain`, `qemu:commandline`).
    name: Text,
    /// Attributes in source order (a boxed slice: no spare capacity per element).
    attrs: Box<[Attr]>,
    /// Whitespace between the last attribute and `>` or `/>`.
    tag_tail: Text,
    /// `<x/>` rather than `<x></x>`.
    pub self_closing: bool,
    /// Child nodes in order.
    pub children: Vec<NodeId>,
    /// The raw end tag (`</x>`, possibly with whitespace), empty for self-closing tags.
    end_tag: Text,
    /// End of the start tag as read (it begins at `pos.offset`); 0 once the tag was
    /// edited and must be rebuilt.
    raw_start_end: u32,
    /// The whitespace before the tag on its own line (`None` when other text precedes
    /// it there); new siblings and children are indented from it.
    indent: Option<Text>,
    /// Where the start tag began.
    pub pos: Pos,
}

/// What kind of non-element node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawKind {
    /// Character data including references, as written.
    Text,
    /// `<!-- ... -->`.
    Comment,
    /// `<![CDATA[ ... ]]>`.
    CData,
    /// `<?target ...?>`, including the XML declaration.
    Pi,
    /// `<!DOCTYPE ...>`.
    DocType,
}

/// A node of the document.
#[derive(Clone, Debug)]
pub enum Node {
    /// An element with its subtree (boxed: the many text nodes stay small).
    Element(Box<Element>),
    /// Anything else, kept verbatim.
    Raw(RawKind, Text),
}

/// The whole document: a prefix (byte-order mark), top-level nodes, and the node arena.
#[derive(Clone, Debug)]
pub struct Document {
    /// The input (without a byte-order mark); unedited nodes are spans of it.
    src: String,
    bom: bool,
    nodes: Vec<Node>,
    parents: Vec<Option<NodeId>>,
    top: Vec<NodeId>,
    root: NodeId,
    newline: &'static str,
    /// The internal subset's general entities (empty without a DOCTYPE).
    entities: Vec<Entity>,
}

/// Line and column of `offset`, counted from the start: used for errors only, so a
/// document costs no per-line table.
fn pos_at(src: &str, offset: usize) -> Pos {
    let mut c = Cursor::default();
    c.advance(src.as_bytes(), offset.min(src.len()));
    c.pos()
}

/// Line and column of a position that only moves forward while parsing: each byte is
/// looked at once, so positions cost linear time however long a line is.
struct Cursor {
    offset: usize,
    /// 0-based line.
    line: u32,
    /// Characters since the line's start.
    column: u32,
    line_start: usize,
    /// Only spaces and tabs since the line's start.
    blank: bool,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            offset: 0,
            line: 0,
            column: 0,
            line_start: 0,
            blank: true,
        }
    }
}

impl Cursor {
    fn advance(&mut self, src: &[u8], to: usize) {
        if to <= self.offset {
            return;
        }
        for (i, &b) in src[self.offset..to].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
                self.line_start = self.offset + i + 1;
                self.blank = true;
            } else {
                // Count characters, not bytes: skip UTF-8 continuation bytes.
                if b & 0xc0 != 0x80 {
                    self.column += 1;
                }
                if b != b' ' && b != b'\t' {
                    self.blank = false;
                }
            }
        }
        self.offset = to;
    }

    fn pos(&self) -> Pos {
        Pos {
            offset: self.offset,
            line: self.line + 1,
            column: self.column + 1,
        }
    }

    /// The whitespace before the cursor on its line, or nothing when something else
    /// stands there.
    fn indent(&self) -> Option<Text> {
        self.blank.then(|| Text::span(self.line_start, self.offset))
    }
}

/// At most this many characters of a value the input supplies are quoted in a
/// message: a 10 MB attribute must not be echoed.
pub const QUOTE_MAX: usize = 60;

/// `s`, or its first [`QUOTE_MAX`] characters and how much was left out.
pub fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(QUOTE_MAX) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} bytes in all)", &s[..cut], s.len()))
        }
    }
}

/// Cuts every run of more than [`QUOTE_MAX`] characters without a space in a message
/// (a long value quoted in it), for messages built from text the input supplies.
pub fn clip_message(m: &str) -> String {
    if m.len() <= QUOTE_MAX {
        return m.to_string();
    }
    let mut out = String::with_capacity(m.len().min(4096));
    for (k, word) in m.split(' ').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&clip(word));
    }
    out
}

/// The first character XML 1.0 forbids anywhere in a document (NUL, control
/// characters, U+FFFE, U+FFFF), with its offset. Surrogates cannot occur in a `str`.
fn forbidden_char(src: &str) -> Option<(usize, char)> {
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r' {
            return Some((i, c as char));
        }
        if c == 0xef && b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)) {
            return src[i..].chars().next().map(|ch| (i, ch));
        }
        i += 1;
    }
    None
}

/// XML 1.0 (fifth edition) NameStartChar.
fn is_name_start(c: char) -> bool {
    matches!(c, ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}'
        | '\u{f8}'..='\u{2ff}' | '\u{370}'..='\u{37d}' | '\u{37f}'..='\u{1fff}'
        | '\u{200c}'..='\u{200d}' | '\u{2070}'..='\u{218f}' | '\u{2c00}'..='\u{2fef}'
        | '\u{3001}'..='\u{d7ff}' | '\u{f900}'..='\u{fdcf}' | '\u{fdf0}'..='\u{fffd}'
        | '\u{10000}'..='\u{effff}')
}

/// XML 1.0 NameChar.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}' | '\u{203f}'..='\u{2040}')
}

/// Why `name` is not an XML Name, as the offset of the first bad character.
fn bad_name(name: &str) -> Option<(usize, char)> {
    let mut chars = name.char_indices();
    match chars.next() {
        None => return Some((0, ' ')),
        Some((_, c)) if !is_name_start(c) => return Some((0, c)),
        _ => {}
    }
    chars.find(|&(_, c)| !is_name_char(c))
}

/// A character for a message: printable ones as they are, others as U+XXXX.
fn show_char(c: char) -> String {
    if c.is_control() || c == ' ' {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Position of the first invalid UTF-8 byte, for a precise message.
fn utf8_error(bytes: &[u8], err: std::str::Utf8Error) -> XmlError {
    let valid = err.valid_up_to();
    let prefix = String::from_utf8_lossy(&bytes[..valid]);
    XmlError {
        pos: pos_at(&prefix, valid),
        message: format!(
            "the file is not UTF-8 (byte 0x{:02x}); libvirt domain XML is UTF-8: convert it, e.g. with iconv",
            bytes[valid]
        ),
    }
}

/// Refuses what no event needs to be read for: a source too large for the 32-bit
/// spans, and characters XML forbids anywhere.
fn check_input(src: &str) -> Result<(), XmlError> {
    if src.len() >= u32::MAX as usize {
        return Err(XmlError {
            pos: Pos::default(),
            message: "the document is 4 GiB or larger; a libvirt domain is far smaller".into(),
        });
    }
    if let Some((at, c)) = forbidden_char(src) {
        return Err(error_at(
            src,
            at,
            format!(
                "not well-formed: the character {} is not allowed in XML (not even in a value or a comment)",
                show_char(c)
            ),
        ));
    }
    Ok(())
}

/// An error at byte `offset` of `src`, its message cut to a readable length.
fn error_at(src: &str, offset: usize, message: String) -> XmlError {
    XmlError {
        pos: pos_at(src, offset),
        message: clip_message(&message),
    }
}

/// The document as it is built from the reader's events: the open elements, the root
/// once seen, the entities the internal subset declares, and where the reader is.
struct Builder<'s> {
    src: &'s str,
    doc: Document,
    root: Option<NodeId>,
    stack: Vec<NodeId>,
    /// General entities declared in the internal subset: a reference to one is
    /// refused with a message naming it (see `check_references`).
    declared: Vec<Entity>,
    cursor: Cursor,
}

impl<'s> Builder<'s> {
    fn new(src: &'s str, bom: bool) -> Builder<'s> {
        Builder {
            src,
            doc: Document {
                src: String::new(),
                bom,
                nodes: Vec::new(),
                parents: Vec::new(),
                top: Vec::new(),
                root: NodeId(0),
                newline: if src.contains("\r\n") { "\r\n" } else { "\n" },
                entities: Vec::new(),
            },
            root: None,
            stack: Vec::new(),
            declared: Vec::new(),
            cursor: Cursor::default(),
        }
    }

    fn err(&self, offset: usize, message: String) -> XmlError {
        error_at(self.src, offset, message)
    }

    /// Reads every event, each node owning the source between the previous event's
    /// end and its own.
    fn read_all(&mut self) -> Result<(), XmlError> {
        let src = self.src;
        let mut reader = Reader::from_str(src);
        reader.config_mut().check_end_names = true;
        reader.config_mut().check_comments = true;
        let mut last = 0usize;
        loop {
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = reader.error_position() as usize;
                    return Err(self.err(at, describe_quick_xml_error(&e)));
                }
            };
            let start = last;
            let end = reader.buffer_position() as usize;
            last = end;
            let raw = &src[start..end];
            let parent = self.stack.last().copied();
            self.cursor.advance(src.as_bytes(), start);
            let raw_node = |kind: RawKind| Node::Raw(kind, Text::span(start, end));
            match event {
                Event::Eof => break,
                Event::Start(_) => self.start_tag(raw, start, end, parent, false)?,
                Event::Empty(_) => self.start_tag(raw, start, end, parent, true)?,
                Event::End(_) => self.end_tag(start, end)?,
                Event::Text(_) | Event::GeneralRef(_) => self.text(raw, start, end, parent)?,
                Event::Comment(_) => {
                    self.doc.push(parent, raw_node(RawKind::Comment));
                }
                Event::CData(_) => {
                    self.doc.push(parent, raw_node(RawKind::CData));
                }
                Event::Decl(_) | Event::PI(_) => {
                    self.doc.push(parent, raw_node(RawKind::Pi));
                }
                Event::DocType(_) => self.doctype(raw, start, end, parent)?,
            }
        }
        Ok(())
    }

    /// A start tag (or an empty element) at `start..end`: split into its pieces and
    /// pushed; an open one becomes the parent of what follows.
    fn start_tag(
        &mut self,
        raw: &str,
        start: usize,
        end: usize,
        parent: Option<NodeId>,
        self_closing: bool,
    ) -> Result<(), XmlError> {
        let (name, attrs, tag_tail, name_str) =
            split_start_tag(raw, start, self_closing, &self.declared)
                .map_err(|(off, m)| self.err(start + off, m))?;
        if parent.is_none() && self.root.is_some() {
            return Err(self.err(
                start,
                format!(
                    "a second top-level element <{name_str}> after the root; a document has exactly one root"
                ),
            ));
        }
        let id = self.doc.push(
            parent,
            Node::Element(Box::new(Element {
                name,
                attrs,
                tag_tail,
                self_closing,
                children: Vec::new(),
                end_tag: Text::span(end, end),
                raw_start_end: end as u32,
                indent: self.cursor.indent(),
                pos: self.cursor.pos(),
            })),
        );
        if parent.is_none() {
            self.root = Some(id);
        }
        if !self_closing {
            self.stack.push(id);
        }
        Ok(())
    }

    /// An end tag at `start..end` closes the innermost open element.
    fn end_tag(&mut self, start: usize, end: usize) -> Result<(), XmlError> {
        let Some(id) = self.stack.pop() else {
            return Err(self.err(start, "an end tag without a start tag".into()));
        };
        if let Node::Element(e) = &mut self.doc.nodes[id.0 as usize] {
            e.end_tag = Text::span(start, end);
            e.children.shrink_to_fit();
        }
        Ok(())
    }

    /// Text (or a reference) at `start..end`: its references checked, none outside the
    /// root but whitespace, and joined to the text node right before it.
    fn text(
        &mut self,
        raw: &str,
        start: usize,
        end: usize,
        parent: Option<NodeId>,
    ) -> Result<(), XmlError> {
        check_references(raw, &self.declared).map_err(|(off, m)| self.err(start + off, m))?;
        if parent.is_none() && !raw.trim().is_empty() {
            return Err(self.err(
                start + (raw.len() - raw.trim_start().len()),
                "text outside the root element".into(),
            ));
        }
        // quick-xml splits text at references; we keep one text node.
        if let Some(&prev) = self.doc.children_of(parent).last()
            && let Node::Raw(RawKind::Text, Text::Src(_, b)) = &mut self.doc.nodes[prev.0 as usize]
            && *b as usize == start
        {
            *b = end as u32;
            return Ok(());
        }
        self.doc
            .push(parent, Node::Raw(RawKind::Text, Text::span(start, end)));
        Ok(())
    }

    /// The DOCTYPE at `start..end`: its entities read, and it must come before the root.
    fn doctype(
        &mut self,
        raw: &str,
        start: usize,
        end: usize,
        parent: Option<NodeId>,
    ) -> Result<(), XmlError> {
        self.declared = declared_entities(raw, self.cursor.pos().line);
        if self.root.is_some() || parent.is_some() {
            return Err(self.err(start, "<!DOCTYPE> must come before the root element".into()));
        }
        self.doc
            .push(parent, Node::Raw(RawKind::DocType, Text::span(start, end)));
        Ok(())
    }

    /// The document once every event is read: every element closed, one root.
    fn finish(self) -> Result<Document, XmlError> {
        let mut doc = self.doc;
        if let Some(&open) = self.stack.last() {
            // Point at the element that is never closed: that is where the fix goes.
            let e = doc.element(open);
            let name = e.name.get(self.src);
            return Err(XmlError {
                pos: e.pos,
                message: format!(
                    "the document ends inside <{name}>, opened here; add its end tag </{name}>"
                ),
            });
        }
        let Some(root) = self.root else {
            return Err(error_at(
                self.src,
                0,
                "no root element: the input holds no XML element".into(),
            ));
        };
        doc.root = root;
        doc.entities = self.declared;
        doc.nodes.shrink_to_fit();
        doc.parents.shrink_to_fit();
        Ok(doc)
    }
}

impl Document {
    /// Reads a document from bytes (must be UTF-8, as libvirt writes it).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Document, XmlError> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Document::parse(s),
            Err(e) => Err(utf8_error(bytes, e)),
        }
    }

    /// Reads a document from bytes it takes over: the document keeps them as its
    /// source, so a large file is held once, not twice.
    pub fn parse_vec(bytes: Vec<u8>) -> Result<Document, XmlError> {
        match String::from_utf8(bytes) {
            Ok(s) => Document::parse_owned(s),
            Err(e) => Err(utf8_error(e.as_bytes(), e.utf8_error())),
        }
    }

    /// Reads a document from text.
    pub fn parse(input: &str) -> Result<Document, XmlError> {
        Document::parse_owned(input.to_string())
    }

    /// Reads a document from text it takes over as its source.
    pub fn parse_owned(mut text: String) -> Result<Document, XmlError> {
        let bom = text.starts_with('\u{feff}');
        if bom {
            text.drain(..'\u{feff}'.len_utf8());
        }
        check_input(&text)?;
        let mut builder = Builder::new(&text, bom);
        builder.read_all()?;
        let mut doc = builder.finish()?;
        doc.src = text;
        Ok(doc)
    }

    fn push(&mut self, parent: Option<NodeId>, node: Node) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
        self.parents.push(parent);
        match parent {
            Some(p) => {
                if let Node::Element(e) = &mut self.nodes[p.0 as usize] {
                    e.children.push(id);
                }
            }
            None => self.top.push(id),
        }
        id
    }

    fn children_of(&self, parent: Option<NodeId>) -> &[NodeId] {
        match parent {
            Some(p) => match &self.nodes[p.0 as usize] {
                Node::Element(e) => &e.children,
                Node::Raw(..) => &[],
            },
            None => &self.top,
        }
    }

    /// The root element.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// The line ending the document uses (`\r\n` when it has any CRLF).
    pub fn newline(&self) -> &'static str {
        self.newline
    }

    /// A node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The parent element of a node (`None` at the top level).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.parents[id.0 as usize]
    }

    /// An element; panics when `id` is not one, which would be a bug in the caller,
    /// since element ids only come from this document's element accessors.
    pub fn element(&self, id: NodeId) -> &Element {
        match &self.nodes[id.0 as usize] {
            Node::Element(e) => e,
            Node::Raw(..) => unreachable!("node {id:?} is not an element"),
        }
    }

    fn element_mut(&mut self, id: NodeId) -> &mut Element {
        match &mut self.nodes[id.0 as usize] {
            Node::Element(e) => e,
            Node::Raw(..) => unreachable!("node {id:?} is not an element"),
        }
    }

    /// The qualified name of element `id` as written.
    pub fn name(&self, id: NodeId) -> &str {
        self.element(id).name.get(&self.src)
    }

    /// Whether element `id` has any attribute.
    pub fn has_attrs(&self, id: NodeId) -> bool {
        !self.element(id).attrs.is_empty()
    }

    /// Element children of `id`, in order.
    pub fn child_elements(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.element(id)
            .children
            .iter()
            .copied()
            .filter(|c| matches!(self.nodes[c.0 as usize], Node::Element(_)))
    }

    /// The first child element named `name`.
    pub fn child(&self, id: NodeId, name: &str) -> Option<NodeId> {
        self.child_elements(id).find(|&c| self.name(c) == name)
    }

    /// The decoded value of attribute `name`, or `None` when absent or undecodable.
    pub fn attr(&self, id: NodeId, name: &str) -> Option<String> {
        self.element(id)
            .attrs
            .iter()
            .find(|a| a.name(&self.src) == name)
            .and_then(|a| decode_with(a.raw_value(&self.src), &self.entities).ok())
    }

    /// The attribute as written, for precise error messages.
    pub fn attr_raw(&self, id: NodeId, name: &str) -> Option<&str> {
        self.element(id)
            .attrs
            .iter()
            .find(|a| a.name(&self.src) == name)
            .map(|a| a.raw_value(&self.src))
    }

    /// The decoded text content of an element (text and CDATA children).
    pub fn text(&self, id: NodeId) -> String {
        let mut out = String::new();
        for &c in &self.element(id).children {
            match &self.nodes[c.0 as usize] {
                Node::Raw(RawKind::Text, t) => {
                    let t = t.get(&self.src);
                    out.push_str(&decode_with(t, &self.entities).unwrap_or_else(|_| t.to_string()))
                }
                Node::Raw(RawKind::CData, t) => out.push_str(
                    t.get(&self.src)
                        .trim_start_matches("<![CDATA[")
                        .trim_end_matches("]]>"),
                ),
                _ => {}
            }
        }
        out
    }

    /// Sets (or adds) an attribute; the value is escaped for the element's quote style.
    pub fn set_attr(&mut self, id: NodeId, name: &str, value: &str) {
        let src = &self.src;
        let Node::Element(e) = &mut self.nodes[id.0 as usize] else {
            return;
        };
        if let Some(a) = e.attrs.iter_mut().find(|a| a.name(src) == name) {
            let raw = escape_attr(value, a.quote(src));
            if a.raw_value(src) != raw {
                a.set_raw_value(src, raw);
                e.raw_start_end = 0;
            }
            return;
        }
        let quote = e.attrs.first().map_or('\'', |a| a.quote(src));
        let mut attrs = std::mem::take(&mut e.attrs).into_vec();
        attrs.push(Attr::Own(Box::new(OwnAttr {
            lead: Text::own(" "),
            name: Text::own(name),
            eq: Text::own("="),
            quote,
            raw_value: Text::own(escape_attr(value, quote)),
        })));
        e.attrs = attrs.into_boxed_slice();
        e.raw_start_end = 0;
    }

    /// Removes an attribute if present.
    pub fn remove_attr(&mut self, id: NodeId, name: &str) {
        let src = &self.src;
        let Node::Element(e) = &mut self.nodes[id.0 as usize] else {
            return;
        };
        if e.attrs.iter().any(|a| a.name(src) == name) {
            let mut attrs = std::mem::take(&mut e.attrs).into_vec();
            attrs.retain(|a| a.name(src) != name);
            e.attrs = attrs.into_boxed_slice();
            e.raw_start_end = 0;
        }
    }

    /// The whitespace that indents `id`'s own tag.
    fn indent_of(&self, id: NodeId) -> String {
        self.line_start_indent(id).unwrap_or_default()
    }

    /// The indentation of `id` when it starts its own line.
    fn line_start_indent(&self, id: NodeId) -> Option<String> {
        match &self.nodes[id.0 as usize] {
            Node::Element(e) => e.indent.as_ref().map(|t| t.get(&self.src).to_string()),
            Node::Raw(..) => None,
        }
    }

    /// The indentation step the document uses (two spaces when it cannot tell).
    fn indent_unit(&self) -> String {
        let root = self.root;
        for c in self.child_elements(root) {
            let ind = self.indent_of(c);
            if !ind.is_empty() {
                return ind;
            }
        }
        "  ".into()
    }

    /// Creates a detached element (no attributes, self-closing); attach it with
    /// [`Document::append_child`] or [`Document::insert_after`].
    pub fn new_element(&mut self, name: &str, attrs: &[(&str, &str)]) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node::Element(Box::new(Element {
            name: Text::own(name),
            attrs: Box::default(),
            tag_tail: Text::own(""),
            self_closing: true,
            children: Vec::new(),
            end_tag: Text::own(""),
            raw_start_end: 0,
            indent: None,
            pos: Pos::default(),
        })));
        self.parents.push(None);
        for (k, v) in attrs {
            self.set_attr(id, k, v);
        }
        id
    }

    /// Appends `child` as the last element of `parent`, indented like its siblings.
    pub fn append_child(&mut self, parent: NodeId, child: NodeId) {
        let nl = self.newline;
        let parent_indent = self.indent_of(parent);
        let unit = self.indent_unit();
        let existing = self.child_elements(parent).last();
        let child_indent = existing
            .and_then(|sib| self.line_start_indent(sib))
            .unwrap_or_else(|| format!("{parent_indent}{unit}"));
        self.parents[child.0 as usize] = Some(parent);
        self.element_mut(child).indent = Some(Text::own(child_indent.as_str()));
        let text = |s: String| Node::Raw(RawKind::Text, Text::own(s));
        if self.element(parent).self_closing {
            let name = self.name(parent).to_string();
            let a = self.push_detached(text(format!("{nl}{child_indent}")));
            let b = self.push_detached(text(format!("{nl}{parent_indent}")));
            let tail = self
                .element(parent)
                .tag_tail
                .get(&self.src)
                .trim_end()
                .to_string();
            let pe = self.element_mut(parent);
            pe.self_closing = false;
            pe.tag_tail = Text::own(tail);
            pe.raw_start_end = 0;
            pe.end_tag = Text::own(format!("</{name}>"));
            pe.children = vec![a, child, b];
            self.parents[a.0 as usize] = Some(parent);
            self.parents[b.0 as usize] = Some(parent);
            return;
        }
        // Insert after the last element child, before the trailing whitespace.
        let children = self.element(parent).children.clone();
        let insert_at = match existing {
            Some(sib) => children
                .iter()
                .position(|&c| c == sib)
                .map_or(children.len(), |p| p + 1),
            None => 0,
        };
        let ws = self.push_detached(text(format!("{nl}{child_indent}")));
        self.parents[ws.0 as usize] = Some(parent);
        let pe = self.element_mut(parent);
        if existing.is_none() && pe.children.is_empty() {
            let close = format!("{nl}{parent_indent}");
            pe.children = vec![ws, child];
            let cl = self.push_detached(text(close));
            self.parents[cl.0 as usize] = Some(parent);
            self.element_mut(parent).children.push(cl);
            return;
        }
        pe.children.splice(insert_at..insert_at, [ws, child]);
    }

    /// Inserts `new` as the next sibling element of `after`, on its own line with the
    /// same indentation.
    pub fn insert_after(&mut self, after: NodeId, new: NodeId) {
        self.insert_sibling(after, new, true);
    }

    /// Inserts `new` as the previous sibling element of `before`.
    pub fn insert_before(&mut self, before: NodeId, new: NodeId) {
        self.insert_sibling(before, new, false);
    }

    /// Puts `new` next to `anchor` with the same indentation, on a line of its own.
    fn insert_sibling(&mut self, anchor: NodeId, new: NodeId, after: bool) {
        let Some(parent) = self.parent(anchor) else {
            return;
        };
        let indent = self.indent_of(anchor);
        self.element_mut(new).indent = Some(Text::own(indent.as_str()));
        let ws = self.push_detached(Node::Raw(
            RawKind::Text,
            Text::own(format!("{}{indent}", self.newline)),
        ));
        self.parents[ws.0 as usize] = Some(parent);
        self.parents[new.0 as usize] = Some(parent);
        let pe = self.element_mut(parent);
        let pos = pe.children.iter().position(|&c| c == anchor);
        if after {
            let at = pos.map_or(pe.children.len(), |p| p + 1);
            pe.children.splice(at..at, [ws, new]);
        } else {
            // The new element goes where `anchor` was; `anchor` keeps its own
            // indentation text, and the new whitespace goes between the two.
            let at = pos.unwrap_or(0);
            pe.children.splice(at..at, [new, ws]);
        }
    }

    /// Detaches an element from its parent, together with the whitespace that
    /// introduced it on its own line.
    pub fn remove(&mut self, id: NodeId) {
        let Some(parent) = self.parent(id) else {
            return;
        };
        let children = self.element(parent).children.clone();
        let Some(at) = children.iter().position(|&c| c == id) else {
            return;
        };
        let mut from = at;
        if at > 0
            && let Node::Raw(RawKind::Text, t) = &self.nodes[children[at - 1].0 as usize]
            && let t = t.get(&self.src)
            && t.trim().is_empty()
            && t.contains('\n')
            && at + 1 < children.len()
        {
            from = at - 1;
        }
        self.element_mut(parent).children.drain(from..=at);
        self.parents[id.0 as usize] = None;
    }

    fn push_detached(&mut self, node: Node) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
        self.parents.push(None);
        id
    }

    /// Writes the document; byte-identical to the input when nothing was edited.
    pub fn write(&self) -> String {
        let mut out = String::with_capacity(self.nodes.len() * 32);
        if self.bom {
            out.push('\u{feff}');
        }
        for &id in &self.top {
            self.write_node(id, &mut out);
        }
        out
    }

    /// Writes one element and its subtree, as it would appear in the document.
    pub fn write_subtree(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.write_node(id, &mut out);
        out
    }

    /// Writes a node and its subtree with an explicit stack (never recursion), so
    /// that any nesting depth fits in a fixed amount of call stack.
    fn write_node(&self, id: NodeId, out: &mut String) {
        // Each entry: an element whose children are being written, and the next one.
        let mut stack: Vec<(&Element, usize)> = Vec::new();
        let mut next = Some(id);
        loop {
            if let Some(id) = next.take() {
                match &self.nodes[id.0 as usize] {
                    Node::Raw(_, t) => out.push_str(t.get(&self.src)),
                    Node::Element(e) => {
                        match e.raw_start_end {
                            0 => write_start_tag(e, &self.src, out),
                            end => out.push_str(&self.src[e.pos.offset..end as usize]),
                        }
                        if !e.self_closing {
                            stack.push((e, 0));
                        }
                    }
                }
            }
            let Some((e, k)) = stack.last_mut() else {
                return;
            };
            match e.children.get(*k) {
                Some(&c) => {
                    *k += 1;
                    next = Some(c);
                }
                None => {
                    out.push_str(e.end_tag.get(&self.src));
                    stack.pop();
                }
            }
        }
    }
}

fn write_start_tag(e: &Element, src: &str, out: &mut String) {
    out.push('<');
    out.push_str(e.name.get(src));
    for a in &e.attrs {
        a.write(src, out);
    }
    out.push_str(e.tag_tail.get(src));
    out.push_str(if e.self_closing { "/>" } else { ">" });
}

/// A start tag's pieces: its name, attributes, the whitespace before `>`, and the
/// name as text for messages.
type StartTag<'a> = (Text, Box<[Attr]>, Text, &'a str);

/// Splits a raw start tag (`<name a='1' b = "2" />`), found at `base` in the source,
/// into its pieces. Errors carry the byte offset within `raw`.
fn split_start_tag<'a>(
    raw: &'a str,
    base: usize,
    self_closing: bool,
    declared: &[Entity],
) -> Result<StartTag<'a>, (usize, String)> {
    let span = |a: usize, b: usize| Text::span(base + a, base + b);
    let close = if self_closing { "/>" } else { ">" };
    let inner_end = raw.len() - close.len();
    let bytes = raw.as_bytes();
    let (name, mut i) = element_name(raw, inner_end)?;
    let name_span = span(1, i);
    let mut attrs: Vec<Attr> = Vec::new();
    // Names seen so far, for the duplicate check; a set once a tag has many, so that
    // a tag with 100,000 attributes is read in linear time.
    let mut seen: std::collections::HashSet<&'a str> = std::collections::HashSet::new();
    let tag = TagText {
        raw,
        base,
        inner_end,
        name,
    };
    loop {
        let ws_start = i;
        i = skip_ws(bytes, i, inner_end);
        if i >= inner_end {
            return Ok((
                name_span,
                attrs.into_boxed_slice(),
                span(ws_start, inner_end),
                name,
            ));
        }
        if i == ws_start {
            return Err((
                i,
                format!("attributes of <{name}> must be separated by whitespace"),
            ));
        }
        let (attr, next) = read_attribute(&tag, ws_start, i, declared, &mut seen)?;
        attrs.push(attr);
        i = next;
    }
}

/// Whitespace between the pieces of a tag, as XML defines it.
fn is_xml_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first position from `i` (up to `end`) that is not whitespace.
fn skip_ws(bytes: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && is_xml_ws(bytes[i]) {
        i += 1;
    }
    i
}

/// A start tag's element name (after `<`, up to whitespace), checked, with the
/// position right after it.
fn element_name(raw: &str, inner_end: usize) -> Result<(&str, usize), (usize, String)> {
    let bytes = raw.as_bytes();
    let mut i = 1;
    while i < inner_end && !is_xml_ws(bytes[i]) {
        i += 1;
    }
    let name = &raw[1..i];
    if name.is_empty() {
        return Err((0, "not well-formed: an element without a name".into()));
    }
    if let Some((at, c)) = bad_name(name) {
        return Err((
            1 + at,
            format!(
                "the element name <{}> is not well-formed: a name cannot {} {}",
                clip(name),
                if at == 0 { "start with" } else { "contain" },
                show_char(c)
            ),
        ));
    }
    Ok((name, i))
}

/// The start tag an attribute is read from: its raw text, where it sits in the
/// source, where its attributes end (before `>` or `/>`), and its element's name.
struct TagText<'a> {
    raw: &'a str,
    base: usize,
    inner_end: usize,
    name: &'a str,
}

/// Reads the attribute whose name starts at `name_start` (its leading whitespace at
/// `ws_start`): name, `=`, quoted value, each checked; `seen` holds the names read so
/// far. Returns the attribute and the position after its closing quote.
fn read_attribute<'a>(
    tag: &TagText<'a>,
    ws_start: usize,
    name_start: usize,
    declared: &[Entity],
    seen: &mut std::collections::HashSet<&'a str>,
) -> Result<(Attr, usize), (usize, String)> {
    let (raw, name) = (tag.raw, tag.name);
    let bytes = raw.as_bytes();
    let mut i = name_start;
    while i < tag.inner_end && !is_xml_ws(bytes[i]) && bytes[i] != b'=' {
        i += 1;
    }
    let attr_name = &raw[name_start..i];
    if attr_name.is_empty() {
        return Err((
            name_start,
            format!(
                "not well-formed: an attribute of <{}> has no name",
                clip(name)
            ),
        ));
    }
    if let Some((at, c)) = bad_name(attr_name) {
        return Err((
            name_start + at,
            format!(
                "attribute '{}' of <{}> is not well-formed: a name cannot {} {}",
                clip(attr_name),
                clip(name),
                if at == 0 { "start with" } else { "contain" },
                show_char(c)
            ),
        ));
    }
    let attr_name_c = clip(attr_name);
    let name_c = clip(name);
    let (value_start, value_end) = attribute_value(tag, i, name_start, &attr_name_c, &name_c)?;
    let raw_value = &raw[value_start..value_end];
    if raw_value.contains('<') {
        return Err((
            value_start,
            format!("attribute '{attr_name_c}' contains '<'; write &lt;"),
        ));
    }
    if !seen.insert(attr_name) {
        return Err((
            name_start,
            format!("attribute '{attr_name_c}' appears twice in <{name_c}>"),
        ));
    }
    if let Err((off, m)) = check_references(raw_value, declared) {
        return Err((value_start + off, format!("attribute '{attr_name_c}': {m}")));
    }
    let at = |k: usize| (tag.base + k) as u32;
    let attr = Attr::Src {
        lead: at(ws_start),
        name: at(name_start),
        name_end: at(name_start + attr_name.len()),
        value: at(value_start),
        value_end: at(value_end),
    };
    Ok((attr, value_end + 1))
}

/// The `= 'value'` after an attribute's name (which ends at `i`): returns where the
/// value starts and ends, inside its quotes.
fn attribute_value(
    tag: &TagText<'_>,
    i: usize,
    name_start: usize,
    attr_name_c: &str,
    name_c: &str,
) -> Result<(usize, usize), (usize, String)> {
    let bytes = tag.raw.as_bytes();
    let inner_end = tag.inner_end;
    let mut i = skip_ws(bytes, i, inner_end);
    if i >= inner_end || bytes[i] != b'=' {
        return Err((
            name_start,
            format!(
                "attribute '{attr_name_c}' of <{name_c}> has no value; write {attr_name_c}='...'"
            ),
        ));
    }
    i = skip_ws(bytes, i + 1, inner_end);
    let quote = match bytes.get(i) {
        Some(b'\'') => '\'',
        Some(b'"') => '"',
        _ => {
            return Err((
                i,
                format!("the value of attribute '{attr_name_c}' of <{name_c}> must be quoted"),
            ));
        }
    };
    i += 1;
    let value_start = i;
    while i < inner_end && bytes[i] != quote as u8 {
        i += 1;
    }
    if i >= inner_end {
        return Err((
            value_start,
            format!("the value of attribute '{attr_name_c}' is not closed"),
        ));
    }
    Ok((value_start, i))
}

fn describe_quick_xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("end tag </{found}> does not match the open element <{expected}>")
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("end tag </{name}> has no matching start tag")
        }
        quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(name)) => {
            format!("element <{name}> is never closed")
        }
        quick_xml::Error::Syntax(SyntaxError::UnclosedTag) => "a tag is not closed with '>'".into(),
        quick_xml::Error::Syntax(SyntaxError::UnclosedComment) => {
            "a comment is not closed with '-->'".into()
        }
        quick_xml::Error::Syntax(SyntaxError::UnclosedCData) => {
            "a CDATA section is not closed with ']]>'".into()
        }
        quick_xml::Error::Syntax(s) => format!("not well-formed XML: {s}"),
        other => format!("not well-formed XML: {other}"),
    }
}

/// A general entity the DOCTYPE's internal subset declares.
#[derive(Clone, Debug)]
pub struct Entity {
    name: String,
    /// Line of its declaration.
    line: u32,
    /// Its replacement text, decoded, when virt-pci expands it (plain text of bounded
    /// size); otherwise why not.
    value: Result<String, &'static str>,
}

/// The longest replacement text of an entity that is expanded, and the most text
/// references may add to one value: libvirt's parser also stops runaway expansion.
pub const ENTITY_MAX: usize = 64 * 1024;

/// The general entities a DOCTYPE's internal subset declares; `first_line` is the
/// DOCTYPE's line.
fn declared_entities(doctype: &str, first_line: u32) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut line = first_line;
    let mut rest = doctype;
    while let Some(i) = rest.find("<!ENTITY") {
        line += rest[..i].matches('\n').count() as u32;
        rest = &rest[i + "<!ENTITY".len()..];
        let t = rest.trim_start();
        if t.starts_with('%') {
            continue;
        }
        let name: String = t.chars().take_while(|c| !c.is_whitespace()).collect();
        let after = t[name.len()..].trim_start();
        let value = if after.starts_with("SYSTEM") || after.starts_with("PUBLIC") {
            Err("an external entity")
        } else {
            entity_value(after)
        };
        out.push(Entity { name, line, value });
    }
    out
}

/// The replacement text of an internal entity whose declaration continues with
/// `decl` (`"text">...`), when virt-pci expands it: plain text (character and
/// predefined references allowed), no markup, no other entities, bounded in size.
fn entity_value(decl: &str) -> Result<String, &'static str> {
    let mut chars = decl.chars();
    let quote = chars.next().filter(|&q| q == '"' || q == '\'');
    let Some(q) = quote else {
        return Err("its declaration is not understood");
    };
    let body = &decl[1..];
    let Some(end) = body.find(q) else {
        return Err("its declaration is not understood");
    };
    let raw = &body[..end];
    if raw.contains('<') {
        return Err("its text is markup (elements), which virt-pci does not expand");
    }
    if raw.contains('%') {
        return Err("its text uses parameter entities, which virt-pci does not expand");
    }
    if raw.len() > ENTITY_MAX {
        return Err("its text is longer than virt-pci expands (64 KiB)");
    }
    decode(raw).map_err(|_| {
        "its text refers to other entities; nested entities are not expanded (libvirt refuses deep nesting as an entity loop)"
    })
}

/// XML 1.0's Char production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Checks the references in raw character data or an attribute value: predefined or
/// numeric (naming a legal character). A reference to an entity of the document's
/// DTD is refused: libvirt expands it (its parser substitutes internal entities and
/// stops at an expansion that grows too far), while virt-pci keeps every byte as
/// written and reads values without a DTD, so it would see a different guest than
/// libvirt does. Errors carry the offset in `raw`.
fn check_references(raw: &str, declared: &[Entity]) -> Result<(), (usize, String)> {
    let mut from = 0;
    while let Some(i) = raw[from..].find('&') {
        let at = from + i;
        let after = &raw[at + 1..];
        let Some(semi) = after.find(';') else {
            return Err((at, "a '&' that starts no reference; write &amp;".into()));
        };
        let name = &after[..semi];
        let ok = match name {
            "amp" | "lt" | "gt" | "quot" | "apos" => true,
            _ if name.starts_with("#x") => u32::from_str_radix(&name[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .is_some_and(is_xml_char),
            _ if name.starts_with('#') => name[1..]
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .is_some_and(is_xml_char),
            _ => false,
        };
        if !ok {
            let entity = declared.iter().find(|d| d.name == name);
            if let Some(Entity { value: Ok(_), .. }) = entity {
                from = at + 1 + semi + 1;
                continue;
            }
            let name = clip(name);
            let msg = if let Some(Entity {
                value: Err(why),
                line,
                ..
            }) = entity
            {
                if *why == "an external entity" {
                    format!(
                        "&{name}; refers to an external entity (declared on line {line}); virt-pci never loads anything from outside the document: remove the reference"
                    )
                } else {
                    format!(
                        "&{name}; refers to the entity declared on line {line}, {why}; libvirt would expand it, so virt-pci cannot read the guest as libvirt does: put the text it stands for in its place (xmllint --noent does it)"
                    )
                }
            } else if name.starts_with('#') {
                format!("character reference &{name}; names a character XML does not allow")
            } else {
                format!(
                    "entity &{name}; is not declared (only &amp; &lt; &gt; &quot; &apos; exist without a DTD)"
                )
            };
            return Err((at, msg));
        }
        from = at + 1 + semi + 1;
    }
    Ok(())
}

/// Why a value's references cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("a '&' that starts no reference; write &amp;")]
    BareAmpersand,
    #[error("entity '&{0};' is not one of XML's predefined entities")]
    UnknownEntity(String),
    #[error("'&{0};' is not a valid character reference")]
    BadCharacter(String),
}

/// Decodes the five predefined entities and numeric character references. Any other
/// entity is an error.
pub fn decode(raw: &str) -> Result<String, DecodeError> {
    decode_with(raw, &[])
}

/// Decodes like [`decode`], and expands the document's expandable internal entities
/// (plain text, checked when the document was read), as libvirt does; the text they
/// add to one value is bounded by [`ENTITY_MAX`] times 16.
fn decode_with(raw: &str, entities: &[Entity]) -> Result<String, DecodeError> {
    if !raw.contains('&') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';') else {
            return Err(DecodeError::BareAmpersand);
        };
        let name = &after[..semi];
        let ch = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if name.starts_with("#x") => u32::from_str_radix(&name[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if name.starts_with('#') => name[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => match entities.iter().find(|e| e.name == name) {
                Some(Entity { value: Ok(v), .. }) if out.len() + v.len() <= 16 * ENTITY_MAX => {
                    out.push_str(v);
                    rest = &after[semi + 1..];
                    continue;
                }
                _ => {
                    return Err(DecodeError::UnknownEntity(clip(name).to_string()));
                }
            },
        };
        match ch {
            Some(c) => out.push(c),
            None => return Err(DecodeError::BadCharacter(name.to_string())),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Escapes a value for an attribute quoted with `quote`.
pub fn escape_attr(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_byte() {
        let src = "<?xml version=\"1.0\"?>\r\n<!-- c -->\r\n<domain  type = 'kvm'\tid=\"1\" >\r\n  <a x='&amp;&#65;'/><![CDATA[<x>]]>\r\n  <b></b >\r\n</domain>\r\n<!-- tail -->";
        let doc = Document::parse(src).unwrap();
        assert_eq!(doc.write(), src);
        assert_eq!(doc.newline(), "\r\n");
    }

    #[test]
    fn editing_an_attribute_keeps_the_rest_of_the_tag() {
        let src =
            "<domain>\n  <address  type = 'pci'   bus=\"0x01\"\n   slot='0x00' />\n</domain>\n";
        let mut doc = Document::parse(src).unwrap();
        let a = doc.child(doc.root(), "address").unwrap();
        doc.set_attr(a, "slot", "0x02");
        doc.set_attr(a, "function", "0x0");
        assert_eq!(
            doc.write(),
            "<domain>\n  <address  type = 'pci'   bus=\"0x01\"\n   slot='0x02' function='0x0' />\n</domain>\n"
        );
    }

    #[test]
    fn appended_children_follow_the_document_indentation() {
        let src = "<domain>\n    <devices>\n        <disk/>\n    </devices>\n    <x/>\n</domain>";
        let mut doc = Document::parse(src).unwrap();
        let devices = doc.child(doc.root(), "devices").unwrap();
        let disk = doc.child(devices, "disk").unwrap();
        let addr = doc.new_element("address", &[("type", "pci")]);
        doc.append_child(disk, addr);
        let c = doc.new_element("controller", &[("type", "pci"), ("index", "1")]);
        doc.append_child(devices, c);
        assert_eq!(
            doc.write(),
            "<domain>\n    <devices>\n        <disk>\n            <address type='pci'/>\n        </disk>\n        <controller type='pci' index='1'/>\n    </devices>\n    <x/>\n</domain>"
        );
    }

    #[test]
    fn inserted_siblings_and_their_children_are_indented() {
        let src = "<domain>\n  <devices>\n    <a/>\n    <b><c/></b>\n  </devices>\n</domain>\n";
        let mut doc = Document::parse(src).unwrap();
        let devices = doc.child(doc.root(), "devices").unwrap();
        let a = doc.child(devices, "a").unwrap();
        let new = doc.new_element("n", &[]);
        doc.insert_after(a, new);
        let kid = doc.new_element("k", &[]);
        doc.append_child(new, kid);
        // An inline child gets its own line under the parent.
        let b = doc.child(devices, "b").unwrap();
        let kid2 = doc.new_element("k", &[]);
        doc.append_child(b, kid2);
        assert_eq!(
            doc.write(),
            "<domain>\n  <devices>\n    <a/>\n    <n>\n      <k/>\n    </n>\n    <b><c/>\n      <k/></b>\n  </devices>\n</domain>\n"
        );
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let e = Document::parse("<domain>\n  <a>\n  </b>\n</domain>").unwrap_err();
        assert_eq!(e.pos.line, 3, "{e}");
        let e = Document::parse("<domain>\n <a slot=0x1/>\n</domain>").unwrap_err();
        assert_eq!((e.pos.line, e.pos.column), (2, 10), "{e}");
        let e = Document::parse("<domain>\n <a>").unwrap_err();
        assert!(e.message.contains("<a>"), "{e}");
        assert!(Document::parse("").is_err());
        assert!(Document::parse("<a x='1' x='2'/>").is_err());
    }

    #[test]
    fn decode_refuses_unknown_entities() {
        assert_eq!(decode("a&amp;b&#x41;&#66;").unwrap(), "a&bAB");
        assert!(decode("&foo;").is_err());
        assert_eq!(escape_attr("a'b\"&", '\''), "a&apos;b\"&amp;");
    }
}
