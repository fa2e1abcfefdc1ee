"""Sentence bank for make_pairs.py: events, sentence templates filled with each event's facts, stock
analysis sentences, boilerplate, and one statement written in five languages. Invented but realistic.
"""

from __future__ import annotations

STRIKE_TEMPLATES = [
    "{workers} at {employer} in {place} walked out on {date}, demanding {demand}.",
    "The action was called by {union} after {pct} per cent of members voted for strike action on a turnout of {turnout} per cent.",
    "Picket lines were solid from six in the morning, and managers admitted that not one {unit} left the site during the first shift.",
    "{leader}, a {role} who has worked at {employer} for {years} years, told us: \"{quote}\"",
    "Management's offer of {offer} would mean yet another real-terms pay cut, with inflation still running at {inflation} per cent.",
    "{employer} reported profits of {profits} last year, while paying its directors bonuses that dwarf anything offered to the workforce.",
    "Messages of support have arrived from {support}, and a solidarity rally is planned for {rally_day} outside {rally_place}.",
    "The bosses have threatened to bring in agency labour to break the strike, which would be illegal under existing law if the union's ballot is upheld.",
    "Strikers are clear that they are fighting not only for themselves but for the next generation of workers in {place}.",
    "Workers at two other sites owned by {employer} are now discussing balloting for action on the same issues.",
    "A mass meeting on {meeting_day} will decide whether to escalate to an all-out indefinite strike.",
    "Union officials have so far refused to name a date for further action, and rank-and-file members are demanding a say.",
    "The dispute has become a focal point for workers across {country} facing the same squeeze on wages and conditions.",
    "In the last dispute at {employer}, in {last_year}, a deal was pushed through over the heads of the members; strikers are determined not to let that happen again.",
]

ELECTION_TEMPLATES = [
    "The results of the {election} on {date} mark a sharp shift in {country} politics.",
    "{party_winner} won {winner_pct} per cent of the vote, while {party_loser} fell to {loser_pct} per cent, its worst result since {worst_year}.",
    "Turnout was {turnout} per cent, and in the working-class districts of {place} it was far lower.",
    "The far right, {far_right}, gained ground by exploiting anger over rents, prices and the collapse of public services.",
    "{leader}, a {role} in {place}, said: \"{quote}\"",
    "None of the main parties offered a way out of the cost-of-living crisis that has hit working-class households hardest.",
    "The coalition talks now under way will produce a government of cuts, whatever its colour.",
    "{party_left} stood on a platform of {demand}, but its leadership is already signalling a willingness to join a coalition.",
    "Our members campaigned in {place}, where we found a real hunger for socialist ideas among young people and workers.",
    "The lesson of this election is that workers need a party of their own, based on the trade unions and the movements.",
    "Over the coming months the new government will be tested by strikes in {sector} and by protests against rising rents.",
    "In {place} the far right topped the poll in several wards that were once solid for the workers' movement.",
]

ANTIWAR_TEMPLATES = [
    "Thousands marched through {place} on {date} against the {war} and the government's drive to rearm.",
    "The demonstration was called by {union} together with student unions and anti-war groups.",
    "The government has announced an increase in military spending to {pct} per cent of GDP, paid for by cuts to {sector}.",
    "{leader}, a {role} from {place}, told the rally: \"{quote}\"",
    "Arms companies such as {employer} have seen their share prices soar since the conflict began.",
    "We call for an immediate ceasefire, the withdrawal of all occupying forces and the opening of the arms companies' books.",
    "Workers in ports and transport have a key role to play by refusing to handle weapons destined for the war.",
    "Only the working class, organised across borders, can end the cycle of war, occupation and displacement.",
    "A further national day of action is planned for {rally_day}, with local meetings in every major town.",
    "Young people are being told there is no money for housing or education, yet billions are found for weapons overnight.",
    "The media coverage has tried to smear the protesters, but the size of the march speaks for itself.",
    "Trade union branches in {country} have begun passing motions opposing the rearmament budget.",
]

STOCK_SENTENCES = [
    "The cost-of-living crisis has left millions of working-class families choosing between heating and eating.",
    "Capitalism offers nothing but falling living standards, insecure work and environmental destruction.",
    "Workers cannot rely on the courts or on politicians who take their orders from big business.",
    "The trade union leaders must name the day for coordinated action across the public and private sectors.",
    "We need a fighting, democratic union movement in which members control their disputes.",
    "Every gain that working people have won was won through struggle, not handed down from above.",
    "The bosses will always say there is no money, until it comes to dividends and directors' pay.",
    "A socialist programme would take the major companies into democratic public ownership.",
    "Rents have risen faster than wages for a decade, and young workers are hit hardest.",
    "The parties of the establishment have no answer to the crisis except more austerity.",
    "Solidarity from other workers can turn an isolated dispute into a movement that wins.",
    "Strike funds and hardship collections are needed so that no striker is starved back to work.",
    "Racism and division are used to weaken the working class; united struggle is the answer.",
    "A victory here would give confidence to workers in every sector who face the same attacks.",
    "The anti-union laws were designed to tie workers' hands and must be defied and scrapped.",
    "Public services have been starved of funds for years while the super-rich grew richer.",
    "Socialists argue for a minimum wage that people can actually live on, linked to the real cost of living.",
    "The media will try to paint strikers as greedy, but public support for the dispute remains strong.",
    "Building a mass workers' party is an urgent task for the whole labour movement.",
    "We stand for the nationalisation of energy, banking and the big landlords under workers' control.",
    "Women workers, who make up most of the low-paid workforce, are at the forefront of these struggles.",
    "Climate change cannot be tackled while production is organised for profit rather than need.",
    "Inflation is being used as an excuse to hold down wages while prices and profits race ahead.",
    "The struggle does not end at the workplace gate: it is a political struggle against the whole system.",
    "Join the socialists and help build the fightback in your workplace, college and community.",
    "Elected representatives who vote for cuts should be challenged by candidates who stand with workers.",
    "Young people face a future of debt, precarious jobs and unaffordable housing unless we fight back.",
    "The international working class shares a common enemy and a common interest.",
    "Governments that rescued the banks now tell nurses and teachers to tighten their belts.",
    "Democratic committees of workers and communities should decide how resources are used.",
    "Privatisation has meant higher prices for users and worse pay and conditions for staff.",
    "We warned that the deal on offer last year would settle nothing, and events have proved us right.",
    "Local campaigns against closures show what can be achieved when communities organise.",
    "The trade unions should use their political funds to back candidates who fight for workers.",
    "Every attack on the right to strike is an attack on all workers' ability to defend themselves.",
    "The crisis of the system is not a crisis of scarcity but of a profit-driven economy.",
    "A general strike would show the real power of the working class to bring the country to a halt.",
    "The fight for decent pay is inseparable from the fight for affordable homes and free public services.",
]

# Each event: facts for the templates, a template family, unique sentences, titles for different articles.
EVENTS = [
    dict(
        key="gb_bus", country_code="GB", country="Britain", kind="strike", date="14 March", year=2025,
        workers="Bus drivers", employer="Stagecoach", place="Sheffield", demand="a pay rise of 12 per cent and an end to split shifts",
        union="Unite", pct="94", turnout="81", unit="bus", leader="Dave Greaves", role="driver and shop steward", years="19",
        quote="We kept this city moving through the pandemic, and now they tell us we are worth less every year.",
        offer="4 per cent", inflation="5.2", profits="£221 million", support="rail workers in the RMT and the local trades council",
        rally_day="Saturday", rally_place="the town hall", meeting_day="Thursday", last_year="2022",
        unique=[
            "Passengers waiting at the Arundel Gate interchange were handed leaflets explaining why the drivers had no choice but to strike.",
            "Drivers say the split-shift system means fourteen-hour days for eight hours' pay.",
            "The South Yorkshire mayor has promised to bring buses back under public control, but drivers say they cannot wait until 2027.",
            "Socialist Party members on the picket line raised the demand for a publicly owned integrated transport system.",
        ],
        titles=["Sheffield bus drivers strike for decent pay", "Stagecoach strike: Sheffield drivers out solid", "Bus drivers walk out across Sheffield"],
    ),
    dict(
        key="ie_nurses", country_code="IE", country="Ireland", kind="strike", date="3 February", year=2025,
        workers="Nurses and midwives", employer="the Health Service Executive", place="Dublin and Cork", demand="safe staffing levels and the restoration of the recruitment embargo funds",
        union="the INMO", pct="95", turnout="74", unit="elective procedure", leader="Siobhán Kearney", role="staff nurse", years="12",
        quote="We are working short every single shift, and patients are on trolleys in corridors because there is nobody to staff the beds.",
        offer="a review of staffing", inflation="4.1", profits="a budget surplus of €8 billion", support="SIPTU health branches and Fórsa members",
        rally_day="Saturday", rally_place="Leinster House", meeting_day="Wednesday", last_year="2019",
        unique=[
            "Over 500 patients were on trolleys in Irish hospitals on the morning of the strike, according to the union's own count.",
            "The government is sitting on a budget surplus of billions while wards close for lack of staff.",
            "Militant Left members joined the pickets at the Mater and at Cork University Hospital.",
            "Nurses point out that hundreds of graduates emigrate each year because of the conditions in Irish hospitals.",
        ],
        titles=["Nurses strike over unsafe staffing", "INMO strike: nurses say enough is enough", "Irish nurses take action for safe staffing"],
    ),
    dict(
        key="de_post", country_code="DE", country="Germany", kind="strike", date="18 November", year=2024,
        workers="Postal workers", employer="Deutsche Post DHL", place="Berlin, Hamburg and Kassel", demand="a pay increase of 15 per cent for all grades",
        union="ver.di", pct="86", turnout="79", unit="parcel van", leader="Murat Yilmaz", role="parcel sorter", years="9",
        quote="The company made record profits during the parcel boom, and we did the work that made them.",
        offer="3.4 per cent over two years", inflation="4.8", profits="€8.4 billion", support="IG Metall shop stewards and hospital workers",
        rally_day="Saturday", rally_place="the company headquarters in Bonn", meeting_day="Tuesday", last_year="2023",
        unique=[
            "The warning strikes hit sorting centres across the country, with millions of letters and parcels delayed.",
            "Sol members in ver.di argue for an unlimited strike rather than a series of one-day actions.",
            "The company has threatened to outsource delivery routes to subcontractors paying the minimum wage.",
            "In Kassel, strikers marched from the sorting centre to the city centre with their own banners.",
        ],
        titles=["Postal workers strike at Deutsche Post", "ver.di warning strikes hit Deutsche Post DHL", "Deutsche Post: workers demand 15 per cent"],
    ),
    dict(
        key="at_election", country_code="AT", country="Austria", kind="election", date="29 September", year=2024,
        election="Austrian parliamentary election", party_winner="The FPÖ", winner_pct="28.8", party_loser="the ÖVP", loser_pct="26.3", worst_year="2013",
        turnout="77.7", place="Vienna's outer districts", far_right="the FPÖ", leader="Lisa Gruber", role="care worker", sector="care and metalworking",
        quote="People did not vote for the FPÖ because they love it, they voted against a system that has nothing for them.",
        party_left="The SPÖ", demand="a wealth tax and rent controls", union="the ÖGB",
        unique=[
            "For the first time since 1945 a far-right party came first in a national election in Austria.",
            "The SPÖ's leadership spent the campaign courting voters in the centre rather than mobilising workers.",
            "Sozialistische Offensive members argue for a new workers' party based on the unions and the climate movement.",
            "The KPÖ's success in Graz and Salzburg shows that a left alternative focused on housing can win support.",
        ],
        titles=["Austria: far right tops the poll", "Austrian election: what next for the workers' movement?", "FPÖ victory: the need for a workers' alternative"],
    ),
    dict(
        key="fr_pensions", country_code="FR", country="France", kind="strike", date="7 March", year=2023,
        workers="Refinery workers, rail workers and teachers", employer="TotalEnergies", place="Le Havre and Marseille", demand="the withdrawal of the pension reform",
        union="the CGT", pct="90", turnout="70", unit="fuel tanker", leader="Karim Benali", role="refinery operator", years="15",
        quote="Macron wants us to work two more years so that the rich can keep their tax breaks.",
        offer="consultation on hardship rules", inflation="6.3", profits="€19 billion", support="dockers and energy workers",
        rally_day="Thursday", rally_place="the prefecture", meeting_day="Monday", last_year="2019",
        unique=[
            "More than three million people took to the streets across France, according to the unions.",
            "The government intends to force the reform through parliament using Article 49.3, without a vote.",
            "Gauche Révolutionnaire members argue for a renewable general strike until the reform is withdrawn.",
            "Fuel shortages began to appear at petrol stations across Normandy by the end of the week.",
        ],
        titles=["France: millions strike against pension reform", "Pension reform: the strike wave grows", "Macron's reform meets mass resistance"],
    ),
    dict(
        key="ng_fuel", country_code="NG", country="Nigeria", kind="strike", date="3 June", year=2024,
        workers="Workers across Nigeria", employer="the federal government", place="Lagos, Abuja and Port Harcourt", demand="a national minimum wage of ₦494,000",
        union="the NLC and TUC", pct="100", turnout="100", unit="flight", leader="Abiodun Adeyemi", role="DSM member and health worker", years="11",
        quote="The removal of the fuel subsidy has doubled the cost of everything, and the current minimum wage cannot buy a bag of rice.",
        offer="₦60,000", inflation="33.7", profits="a windfall from the subsidy removal", support="market women and student unions",
        rally_day="Wednesday", rally_place="the National Assembly", meeting_day="Friday", last_year="2023",
        unique=[
            "Airports were shut down and the national grid was switched off when electricity workers joined the strike.",
            "The government's offer of ₦60,000 a month is an insult to workers facing inflation of over 30 per cent.",
            "The Democratic Socialist Movement calls on the labour leaders not to suspend the strike without a concrete gain.",
            "In 2012 and 2023 the labour leaders called off general strikes at the last minute; workers must not allow a repeat.",
        ],
        titles=["Nigeria: general strike over minimum wage", "NLC and TUC strike grounds the country", "Nigeria general strike: no retreat on ₦494,000"],
    ),
    dict(
        key="za_mines", country_code="ZA", country="South Africa", kind="strike", date="21 August", year=2024,
        workers="Platinum miners", employer="Sibanye-Stillwater", place="Rustenburg and Marikana", demand="a basic wage of R15,000 and an end to retrenchments",
        union="AMCU", pct="88", turnout="83", unit="shift", leader="Thabo Mokoena", role="rock drill operator", years="14",
        quote="They tell us the platinum price has fallen, but they never shared with us when it was high.",
        offer="R800 over three years", inflation="5.3", profits="R30 billion in the boom years", support="NUMSA members and community organisations",
        rally_day="Saturday", rally_place="the Wonderkop koppie", meeting_day="Sunday", last_year="2018",
        unique=[
            "The strike comes twelve years after police killed 34 striking miners at Marikana.",
            "The company plans to cut more than 3,000 jobs at its shafts around Rustenburg.",
            "The Marxist Workers Party calls for the nationalisation of the mines under democratic workers' control.",
            "Miners' families in the informal settlements still have no running water or electricity.",
        ],
        titles=["South Africa: platinum miners strike", "Sibanye-Stillwater miners down tools", "Rustenburg miners fight retrenchments"],
    ),
    dict(
        key="in_asha", country_code="IN", country="India", kind="strike", date="9 January", year=2025,
        workers="ASHA and anganwadi workers", employer="the state government", place="Bengaluru and Chennai", demand="recognition as workers and a monthly wage of ₹26,000",
        union="the All India Scheme Workers' Federation", pct="92", turnout="76", unit="health camp", leader="Lakshmi Narayan", role="ASHA worker", years="10",
        quote="We are called volunteers, but we work every day of the month and we are paid an honorarium that does not cover the bus fare.",
        offer="an increase of ₹1,000 in the honorarium", inflation="5.5", profits="tax cuts for the corporations", support="transport unions and student groups",
        rally_day="Monday", rally_place="Freedom Park", meeting_day="Sunday", last_year="2021",
        unique=[
            "More than a million scheme workers, almost all of them women, keep India's rural health and nutrition services running.",
            "The workers were the backbone of the Covid response yet many were never paid the promised risk allowance.",
            "New Socialist Alternative members distributed leaflets calling for a united all-India strike of scheme workers.",
            "The police detained hundreds of protesters outside the secretariat before releasing them in the evening.",
        ],
        titles=["India: scheme workers demand recognition", "ASHA workers strike for a living wage", "Anganwadi and ASHA workers take to the streets"],
    ),
    dict(
        key="lk_imf", country_code="LK", country="Sri Lanka", kind="strike", date="15 March", year=2023,
        workers="Teachers, bank workers and port workers", employer="the Wickremesinghe government", place="Colombo and Kandy", demand="the withdrawal of the new income tax and the IMF austerity package",
        union="the trade union coordinating committee", pct="90", turnout="80", unit="container ship", leader="Nimal Perera", role="port worker", years="17",
        quote="The IMF deal means the workers pay for a crisis the rich and the Rajapaksas created.",
        offer="a review of tax bands", inflation="50.3", profits="debt repayments to foreign bondholders", support="plantation workers and university teachers",
        rally_day="Thursday", rally_place="the Fort railway station", meeting_day="Tuesday", last_year="2022",
        unique=[
            "The one-day general strike shut down hospitals' outpatient departments, banks and the port of Colombo.",
            "The government has used emergency regulations to ban protests near parliament.",
            "The United Socialist Party calls for the repudiation of the foreign debt and for workers' control of the economy.",
            "The memory of the aragalaya, the mass movement that toppled Gotabaya Rajapaksa, is still fresh.",
        ],
        titles=["Sri Lanka: general strike against IMF austerity", "Sri Lankan workers strike against the tax hike", "Colombo paralysed by strike against IMF deal"],
    ),
    dict(
        key="my_plantation", country_code="MY", country="Malaysia", kind="strike", date="1 May", year=2024,
        workers="Plantation and factory workers", employer="the palm oil companies", place="Klang and Johor Bahru", demand="a minimum wage of RM2,000 and an end to forced overtime",
        union="the plantation workers' union", pct="85", turnout="70", unit="lorry", leader="Siti Aminah", role="factory worker", years="8",
        quote="Migrant and local workers do the same work, and the bosses use the difference to hold all of us down.",
        offer="RM1,700", inflation="3.1", profits="record palm oil prices", support="migrant workers' groups and student activists",
        rally_day="Sunday", rally_place="Dataran Merdeka", meeting_day="Saturday", last_year="2022",
        unique=[
            "Migrant workers from Bangladesh and Nepal joined the May Day march despite the risk of deportation.",
            "The companies confiscate passports and charge recruitment fees that leave workers in debt bondage.",
            "Sosialis Alternatif calls for equal pay and full union rights for migrant and local workers alike.",
            "Police tried to stop the march at the Sogo roundabout, but the crowd pushed through.",
        ],
        titles=["Malaysia: May Day march for a living wage", "Plantation workers demand RM2,000", "Migrant and local workers march together in Kuala Lumpur"],
    ),
    dict(
        key="us_auto", country_code="US", country="the United States", kind="strike", date="15 September", year=2023,
        workers="Auto workers", employer="Ford, GM and Stellantis", place="Wayne, Michigan, and Toledo, Ohio", demand="a 40 percent raise and the end of the tier system",
        union="the UAW", pct="97", turnout="83", unit="vehicle", leader="Marcus Hill", role="assembly line worker", years="22",
        quote="The companies made a quarter of a trillion dollars in ten years, and we gave up everything in 2009 to save them.",
        offer="a 20 percent raise over four years", inflation="3.7", profits="$250 billion in North America over a decade", support="Teamsters and nurses' unions",
        rally_day="Friday", rally_place="the UAW headquarters", meeting_day="Wednesday", last_year="2019",
        unique=[
            "The stand-up strike targets selected plants at all three companies at once for the first time in the union's history.",
            "Workers hired after 2007 earn far less than their co-workers on the same line because of the tier system.",
            "The Independent Socialist Group argues that the Democrats are no friends of the strikers.",
            "Temporary workers at the plants can wait years before being hired on permanently.",
        ],
        titles=["UAW stand-up strike hits Big Three", "Auto workers strike Ford, GM and Stellantis", "UAW strike: end the tiers!"],
    ),
    dict(
        key="au_aukus", country_code="AU", country="Australia", kind="antiwar", date="11 November", year=2023,
        war="AUKUS military pact", place="Sydney and Melbourne", union="the Maritime Union", pct="2.4", sector="housing and health",
        leader="Jess Nguyen", role="student and union delegate", quote="Three hundred and sixty-eight billion dollars for submarines, and they tell us there is no money for public housing.",
        employer="Lockheed Martin and Thales", rally_day="25 November",
        unique=[
            "The AUKUS pact commits Australia to buying nuclear-powered submarines at a cost of up to $368 billion.",
            "Labor's leadership pushed the pact through its national conference despite opposition from many branches.",
            "Socialism Today supporters argued at the rally for unions to break with Labor's war budget.",
            "Speakers linked the arms build-up to the growing rivalry between the US and China in the Pacific.",
        ],
        titles=["Australia: thousands march against AUKUS", "No to AUKUS: fund homes not submarines", "Anti-AUKUS protests in Sydney and Melbourne"],
    ),
    dict(
        key="gb_antiwar", country_code="GB", country="Britain", kind="antiwar", date="9 March", year=2024,
        war="war on Gaza", place="London", union="trade union branches", pct="2.5", sector="councils and the NHS",
        leader="Amina Hussain", role="teacher and NEU rep", quote="We will not be silent while our government arms a massacre.",
        employer="BAE Systems", rally_day="30 March",
        unique=[
            "The Metropolitan Police estimated the crowd at 100,000; organisers put it at several times that.",
            "Workers at a Kent arms factory blockaded by activists say they were not consulted about what they produce.",
            "The Socialist Party contingent called for a workers' movement against war and for a socialist Middle East.",
            "Government ministers branded the marches hate marches, a smear rejected by the thousands of Jewish marchers present.",
        ],
        titles=["London: huge march for a ceasefire", "Ceasefire now: mass protest in London", "Anti-war movement fills central London"],
    ),
]

CHANGED_INTROS = [
    "This article first appeared on socialistworld.net, the website of the Committee for a Workers' International, and is republished here with minor edits.",
    "We republish this report from our sister organisation, which gives a first-hand account of the dispute and the lessons for workers everywhere.",
    "Editor's note: the following report was sent to us by comrades who joined the action on the day. It was first published in the weekly paper.",
    "The report below was written by a member on the spot and was first published by the international, whose coverage we reproduce in full.",
]

FOOTERS = [
    "<p><strong>Join the socialists!</strong> If you agree with what you have read, get in touch and join us in building the fightback. Donate to our fighting fund and subscribe to the paper to keep our reporting independent of big business.</p>",
    "<p><em>For more news and analysis from socialists around the world, visit socialistworld.net and follow the Committee for a Workers' International.</em></p>",
    "<p>Read more reports from workers in struggle in this week's issue, on sale from our members and at the usual street stalls.</p>",
]

# Boilerplate of template-built posts (campaign bulletins share it, bodies differ).
TEMPLATE_HEAD = (
    "<p><strong>Workers' struggle bulletin.</strong> This bulletin is produced by socialists in the trade unions to share reports from "
    "disputes, picket lines and campaigns. Send your reports, photos and messages of solidarity to our editorial team, and "
    "please circulate the bulletin in your workplace and your union branch.</p>"
)
TEMPLATE_TAIL = (
    "<p>The socialists are campaigning for a 24-hour general strike, for a living wage for all, for the repeal of all "
    "anti-union laws and for a new mass workers' party. If you agree, join us: fill in the form on our website or speak "
    "to a member at one of our weekly stalls.</p>"
)

WEEKLY_COLUMNS = [
    ("Workers' diary", "socialistparty"),
    ("The week in struggle", "socialistworld"),
    ("Editorial: the fight goes on", "militant"),
    ("Letters from our readers", "socialistpartyscotland"),
    ("Notes from the picket line", "isg"),
]

SHORT_STANDFIRSTS = [
    ("Sheffield bus drivers strike for decent pay", "gb_bus",
     "Bus drivers at Stagecoach in Sheffield walked out on 14 March demanding a 12 per cent rise, and the picket lines were solid.",
     "Stagecoach drivers in Sheffield struck on 14 March for a 12 per cent pay rise; Socialist Party members joined the pickets."),
    ("Nurses strike over unsafe staffing", "ie_nurses",
     "Nurses and midwives across Dublin and Cork struck on 3 February over unsafe staffing levels in Irish hospitals.",
     "INMO members in Dublin and Cork took strike action on 3 February demanding safe staffing levels now."),
    ("UAW stand-up strike hits Big Three", "us_auto",
     "Auto workers struck Ford, GM and Stellantis at once on 15 September, demanding a 40 percent raise and the end of tiers.",
     "The UAW began its stand-up strike at the Big Three on 15 September with demands for a 40 percent raise."),
    ("Nigeria: general strike over minimum wage", "ng_fuel",
     "The NLC and TUC general strike that began on 3 June shut airports and the national grid over the minimum wage.",
     "Workers across Nigeria struck from 3 June for a minimum wage of ₦494,000 after the government offered ₦60,000."),
]

# One statement of the international, as the sections publish it in their own languages.
STATEMENT_TITLES = {
    "en": "Stop the war drive: for workers' unity against militarism",
    "de": "Stoppt die Kriegstreiberei: für die Einheit der Arbeiter*innen gegen Militarismus",
    "fr": "Arrêtons la marche à la guerre : pour l'unité des travailleurs contre le militarisme",
    "ms": "Hentikan dorongan perang: untuk perpaduan pekerja menentang militarisme",
    "hi": "युद्ध की होड़ रोको: सैन्यवाद के खिलाफ मज़दूरों की एकता के लिए",
}
STATEMENT = {
    "en": [
        "Statement of the International Executive Committee of the Committee for a Workers' International.",
        "Governments across Europe, North America and Asia are raising military budgets to levels not seen since the Cold War. In Germany, Britain, France and Australia, the same politicians who told us there was no money for hospitals, schools and pensions have found hundreds of billions for tanks, missiles and submarines.",
        "This rearmament is not about defending ordinary people. It is about the interests of rival capitalist powers, above all the US and China, competing for markets, resources and influence. Working people pay twice: once through cuts to public services, and again with their lives when the wars come.",
        "The CWI calls on the trade unions to oppose the war budgets, to refuse to accept cuts in the name of defence, and to organise joint action with workers across borders. We call for an immediate ceasefire in Ukraine and Gaza, the withdrawal of occupying forces, and the right of all peoples to self-determination.",
        "Only a socialist world, in which the major industries are publicly owned and democratically planned, can end the cycle of war and crisis. Join us in building that alternative.",
    ],
    "de": [
        "Erklärung des Internationalen Exekutivkomitees des Komitees für eine Arbeiterinternationale.",
        "Regierungen in Europa, Nordamerika und Asien erhöhen ihre Militärhaushalte auf ein Niveau, das es seit dem Kalten Krieg nicht mehr gab. In Deutschland, Großbritannien, Frankreich und Australien haben dieselben Politiker*innen, die uns sagten, es gebe kein Geld für Krankenhäuser, Schulen und Renten, Hunderte Milliarden für Panzer, Raketen und U-Boote gefunden.",
        "Diese Aufrüstung dient nicht der Verteidigung der einfachen Menschen. Es geht um die Interessen rivalisierender kapitalistischer Mächte, vor allem der USA und Chinas, die um Märkte, Rohstoffe und Einfluss konkurrieren. Die arbeitenden Menschen zahlen doppelt: einmal durch Kürzungen bei öffentlichen Dienstleistungen und noch einmal mit ihrem Leben, wenn die Kriege kommen.",
        "Das CWI ruft die Gewerkschaften auf, sich den Kriegshaushalten zu widersetzen, keine Kürzungen im Namen der Verteidigung hinzunehmen und gemeinsame Aktionen mit Beschäftigten über Grenzen hinweg zu organisieren. Wir fordern einen sofortigen Waffenstillstand in der Ukraine und in Gaza, den Abzug der Besatzungstruppen und das Selbstbestimmungsrecht aller Völker.",
        "Nur eine sozialistische Welt, in der die großen Industrien in öffentlichem Eigentum sind und demokratisch geplant werden, kann den Kreislauf von Krieg und Krise beenden. Macht mit beim Aufbau dieser Alternative.",
    ],
    "fr": [
        "Déclaration du Comité exécutif international du Comité pour une Internationale ouvrière.",
        "Les gouvernements d'Europe, d'Amérique du Nord et d'Asie portent leurs budgets militaires à des niveaux jamais vus depuis la guerre froide. En Allemagne, en Grande-Bretagne, en France et en Australie, les mêmes politiciens qui nous disaient qu'il n'y avait pas d'argent pour les hôpitaux, les écoles et les retraites ont trouvé des centaines de milliards pour des chars, des missiles et des sous-marins.",
        "Ce réarmement ne sert pas à défendre les gens ordinaires. Il sert les intérêts de puissances capitalistes rivales, avant tout les États-Unis et la Chine, en concurrence pour les marchés, les ressources et l'influence. Les travailleurs paient deux fois : d'abord par les coupes dans les services publics, puis de leur vie quand viennent les guerres.",
        "Le CIO appelle les syndicats à s'opposer aux budgets de guerre, à refuser les coupes au nom de la défense et à organiser des actions communes avec les travailleurs par-delà les frontières. Nous appelons à un cessez-le-feu immédiat en Ukraine et à Gaza, au retrait des forces d'occupation et au droit de tous les peuples à l'autodétermination.",
        "Seul un monde socialiste, où les grandes industries sont propriété publique et planifiées démocratiquement, peut mettre fin au cycle des guerres et des crises. Rejoignez-nous pour construire cette alternative.",
    ],
    "ms": [
        "Kenyataan Jawatankuasa Eksekutif Antarabangsa Jawatankuasa untuk Internasional Pekerja.",
        "Kerajaan di seluruh Eropah, Amerika Utara dan Asia sedang menaikkan belanjawan ketenteraan ke tahap yang tidak pernah dilihat sejak Perang Dingin. Di Jerman, Britain, Perancis dan Australia, ahli politik yang sama yang memberitahu kita bahawa tiada wang untuk hospital, sekolah dan pencen telah menemui ratusan bilion untuk kereta kebal, peluru berpandu dan kapal selam.",
        "Persenjataan semula ini bukan untuk mempertahankan rakyat biasa. Ia adalah demi kepentingan kuasa kapitalis yang bersaing, terutamanya Amerika Syarikat dan China, yang berebut pasaran, sumber dan pengaruh. Rakyat pekerja membayar dua kali: sekali melalui pemotongan perkhidmatan awam, dan sekali lagi dengan nyawa mereka apabila perang tiba.",
        "CWI menyeru kesatuan sekerja supaya menentang belanjawan perang, menolak pemotongan atas nama pertahanan, dan menganjurkan tindakan bersama dengan pekerja merentasi sempadan. Kami menuntut gencatan senjata segera di Ukraine dan Gaza, pengunduran tentera penjajah, dan hak semua bangsa untuk menentukan nasib sendiri.",
        "Hanya dunia sosialis, di mana industri utama dimiliki secara awam dan dirancang secara demokratik, dapat menamatkan kitaran perang dan krisis. Sertai kami membina alternatif itu.",
    ],
    "hi": [
        "कमेटी फॉर अ वर्कर्स इंटरनेशनल की अंतर्राष्ट्रीय कार्यकारी समिति का बयान।",
        "यूरोप, उत्तरी अमेरिका और एशिया की सरकारें अपने सैन्य बजट को उस स्तर तक बढ़ा रही हैं जो शीत युद्ध के बाद से नहीं देखा गया। जर्मनी, ब्रिटेन, फ्रांस और ऑस्ट्रेलिया में वही नेता, जिन्होंने हमसे कहा था कि अस्पतालों, स्कूलों और पेंशन के लिए पैसा नहीं है, अब टैंकों, मिसाइलों और पनडुब्बियों के लिए सैकड़ों अरब जुटा चुके हैं।",
        "यह पुनः शस्त्रीकरण आम लोगों की रक्षा के लिए नहीं है। यह प्रतिद्वंद्वी पूंजीवादी ताकतों, खासकर अमेरिका और चीन, के हितों के लिए है जो बाज़ारों, संसाधनों और प्रभाव के लिए होड़ कर रहे हैं। मेहनतकश लोग दो बार कीमत चुकाते हैं: एक बार सार्वजनिक सेवाओं में कटौती से, और फिर युद्ध आने पर अपनी जान देकर।",
        "सीडब्ल्यूआई ट्रेड यूनियनों से अपील करता है कि वे युद्ध बजट का विरोध करें, रक्षा के नाम पर कटौती को स्वीकार न करें और सीमाओं के पार मज़दूरों के साथ संयुक्त कार्रवाई संगठित करें। हम यूक्रेन और गाज़ा में तत्काल युद्धविराम, कब्ज़ा करने वाली सेनाओं की वापसी और सभी लोगों के आत्मनिर्णय के अधिकार की मांग करते हैं।",
        "केवल एक समाजवादी दुनिया, जिसमें बड़े उद्योग सार्वजनिक स्वामित्व में हों और लोकतांत्रिक ढंग से नियोजित हों, युद्ध और संकट के चक्र को खत्म कर सकती है। इस विकल्प के निर्माण में हमारे साथ जुड़ें।",
    ],
}
