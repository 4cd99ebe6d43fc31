import CRMCore
import Testing

@Suite("A letter's file names made safe to store")
struct AttachmentNameTests {
    @Test func keepsAPlainName() {
        #expect(AttachmentName.sanitized("Счёт №12.pdf") == "Счёт №12.pdf")
    }

    @Test func dropsPathsControlsOverridesAndHiddenDots() {
        #expect(AttachmentName.sanitized("../../etc/passwd") == "passwd")
        #expect(AttachmentName.sanitized("C:\\Users\\anna\\Документы\\Договор.docx") == "Договор.docx")
        #expect(AttachmentName.sanitized("invoice\u{202E}fdp.exe") == "invoicefdp.exe")
        #expect(AttachmentName.sanitized("a\u{0}b\r\nc.txt") == "abc.txt")
        #expect(AttachmentName.sanitized("  ..hidden.txt. ") == "hidden.txt")
    }

    @Test func fallsBackWhenNothingIsLeft() {
        for raw in ["", "..", "/", " . ", "\u{1}\u{2}"] {
            #expect(AttachmentName.sanitized(raw) == "attachment")
        }
    }

    @Test func cutsALongNameKeepingItsExtension() {
        let name = AttachmentName.sanitized(String(repeating: "я", count: 400) + ".pdf")
        #expect(name.count == 255)
        #expect(name.hasSuffix("яя.pdf"))
        #expect(AttachmentName.isValid(name))
        #expect(!AttachmentName.isValid(String(repeating: "x", count: 256)))
    }
}
