package seed

// Word lists for names, titles and texts. Every string of the data set is picked from them
// by a hash of the row's id and the seed, so nothing but the numbers is kept in memory.

var firstNames = []string{
	"Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
	"Isabella", "Mateo", "Mia", "Levi", "Charlotte", "Ethan", "Harper", "James", "Evelyn", "Leo",
	"Luna", "Henry", "Camila", "Jack", "Gianna", "Sebastian", "Aria", "Daniel", "Ella", "Owen",
	"Nora", "Samuel", "Hazel", "Aiden", "Chloe", "Logan", "Layla", "Hugo", "Lena", "Jonas",
	"Marta", "Pavel", "Anna", "Ivan", "Sofia", "Dmitri", "Yuki", "Haruto", "Priya", "Arjun",
	"Fatima", "Omar", "Chen", "Wei", "Lucia", "Diego", "Ines", "Tomas", "Freya", "Lars",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Ivanov", "Petrov", "Sato", "Suzuki", "Tanaka",
	"Kowalski", "Nowak", "Rossi", "Russo", "Dubois", "Laurent", "Jensen", "Hansen", "Silva", "Santos",
}

var companies = []string{
	"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Wonka",
	"Cyberdyne", "Soylent", "Tyrell", "Aperture", "Black Mesa", "Vandelay", "Pied Piper", "Dunder Mifflin",
	"Monarch", "Oscorp", "Massive Dynamic", "Gringotts", "Nakatomi", "Prestige Worldwide", "Bluth",
	"Sterling Cooper", "Krusty Krab", "Los Pollos", "Virtucon", "Genco", "Wernham Hogg", "Paper Street",
	"Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adventure Works", "Proseware", "Lucerne",
	"Blue Yonder", "Coho", "Alpine Ski", "Fourth Coffee", "Wingtip", "Woodgrove", "Humongous", "Trey Research",
}

// companySuffixes complete a company's name ("" leaves it bare).
var companySuffixes = []string{"", "", " Inc", " Ltd", " GmbH", " Group", " Logistics", " Software", " Health", " Partners"}

var jobTitles = []string{
	"CEO", "CTO", "CFO", "Head of Purchasing", "Procurement Manager", "IT Director", "Sales Director",
	"Operations Manager", "Office Manager", "Product Manager", "Marketing Lead", "Software Engineer",
	"Account Manager", "Founder", "Head of Finance", "Logistics Coordinator", "VP Engineering", "Consultant",
}

var contactNotes = []string{
	"Met at the trade fair; prefers email.",
	"Decision maker for the EMEA budget.",
	"Introduced by a partner. Call in the morning, their time.",
	"Asked to be contacted again next quarter.",
	"Speaks German and English.",
	"Former customer at a previous company.",
}

// contactTags are the tags of the data set with the share of contacts carrying each, per
// thousand. BenchTag is among them.
var contactTags = []struct {
	tag      string
	perMille uint64
}{
	{"customer", 300}, {"prospect", 250}, {"lead", 200}, {"newsletter", 150}, {"americas", 250}, {"emea", 200},
	{"apac", 100}, {"smb", 150}, {"enterprise", 60}, {"decision maker", 80}, {"webinar", 80}, {"trade show 2026", 60},
	{"partner", 50}, {"referral", 40}, {"vip", 30}, {"churned", 30},
}

// BenchTag and BenchSearch are what the benchmark lists contacts by: a tag about 3 % of the
// contacts carry, and a company name about 1.6 % of them work for (matched in no name, email
// or phone).
const (
	BenchTag    = "vip"
	BenchSearch = "vandelay"
)

var products = []string{
	"annual licence", "renewal", "pilot", "enterprise plan", "support contract", "onboarding package",
	"data migration", "training", "hardware refresh", "expansion", "consulting", "integration",
	"premium tier", "multi-year deal", "upsell", "cloud hosting", "security audit", "custom development",
	"maintenance", "analytics add-on", "seat expansion", "partner programme", "API access", "white label",
}

var domains = []string{"example.com", "example.org", "example.net", "mail.example", "corp.example"}

var taskTitles = []string{
	"Call back", "Send proposal", "Follow up by email", "Schedule a demo", "Prepare the contract",
	"Review pricing", "Ask for references", "Book an on-site visit", "Send the invoice", "Check the budget",
	"Confirm decision makers", "Share the case study", "Negotiate the discount", "Get legal approval",
	"Plan the kickoff", "Collect requirements", "Send meeting notes", "Update the forecast",
}

var taskDescriptions = []string{
	"The customer asked for an answer before the end of the week.",
	"Bring the updated figures and the comparison with last year.",
	"Make sure procurement is in copy.",
	"They prefer a call in the morning, their time.",
	"Attach the latest version of the offer.",
	"Check with finance whether the discount is still approved.",
}

var commentTexts = []string{
	"Had a good call, they are interested.",
	"Waiting for the budget approval on their side.",
	"Sent the updated offer.",
	"They want to compare with a competitor first.",
	"Decision expected next month.",
	"Champion is on holiday until Monday.",
	"Asked for a discount of 10%.",
	"Legal is reviewing the contract.",
	"Met the CTO, positive feedback.",
	"Needs another demo for the wider team.",
	"Price is the main objection.",
	"Procurement process started.",
}

var lostReasons = []string{
	"Price too high", "Chose a competitor", "No budget this year", "Project cancelled",
	"No response from the customer", "Missing feature", "Timing not right",
}
